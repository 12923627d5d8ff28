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
  /** What to do about it; undefined when the sentence names no separate fix. */
  readonly fix: string | undefined
  /** The exit code of the tool that failed, when a tool failed; the step exits with it. */
  readonly exitCode: number | undefined

  /** From its parts; the exit code may also come second (it wins over `parts.exitCode`). */
  constructor(parts: ErrorParts, exitCode?: number) {
    super(formatError(parts))
    this.name = 'ActionError'
    this.problem = bare(parts.problem)
    this.fix = parts.fix === undefined ? undefined : bare(parts.fix)
    this.exitCode = exitCode ?? parts.exitCode
  }
}
