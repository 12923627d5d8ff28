/**
 * Failures the user can fix, as a structure: what is wrong (`problem`), what to do (`fix`) and,
 * when a tool failed, its exit code. `formatError()` is the one place that turns them into the
 * sentence the user reads, "problem; fix." — one voice in every folder.
 */

/** The parts of one failure sentence, each without its final full stop. */
export interface ErrorParts {
  /** What is wrong, naming the input or file, e.g. `Input gguf is "Q9"`. */
  problem: string
  /** What the user does about it, e.g. `use one of Q4_K_M, Q8_0`. */
  fix?: string
  /** The exit code of the tool that failed, when a tool failed; the step exits with it. */
  exitCode?: number
}

/** Drops one final full stop, so a part written either way formats the same. */
function bare(text: string): string {
  return text.trimEnd().replace(/\.$/, '')
}

/** The one sentence of a failure: "problem; fix." or "problem." when there is no fix. */
export function formatError(parts: Pick<ErrorParts, 'problem' | 'fix'>): string {
  const problem = bare(parts.problem)
  const fix = parts.fix === undefined ? '' : bare(parts.fix)
  return fix === '' ? `${problem}.` : `${problem}; ${fix}.`
}

/** A failure the user can fix: one sentence that names the input or file and the fix. */
export class ActionError extends Error {
  /** What is wrong, without the fix: for callers that quote the failure inside their own sentence. */
  readonly problem: string
  /** What to do about it; undefined for a sentence given whole (see the constructor). */
  readonly fix: string | undefined
  /** The exit code of the tool that failed, when a tool failed; the step exits with it. */
  readonly exitCode: number | undefined

  /**
   * From its parts; the exit code may also come second. TRANSITIONAL: a plain string is still
   * taken as the whole sentence (its problem, no separate fix) for the modules not yet converted
   * (budget, report, plan, main: being moved into budget/ and report/); remove after that merge.
   */
  constructor(parts: ErrorParts | string, exitCode?: number) {
    const p: ErrorParts = typeof parts === 'string' ? { problem: parts } : parts
    super(typeof parts === 'string' ? parts : formatError(p))
    this.name = 'ActionError'
    this.problem = typeof parts === 'string' ? parts : bare(p.problem)
    this.fix = p.fix === undefined ? undefined : bare(p.fix)
    this.exitCode = exitCode ?? p.exitCode
  }
}
