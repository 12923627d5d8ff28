/** Runs external tools through @actions/exec (argument arrays, never a shell). */
import * as exec from '@actions/exec'

/** Keeps the last lines a tool printed, so a failure can quote them. */
export class OutputTail {
  private readonly lines: string[] = []
  private partial = ''

  constructor(private readonly keep = 40) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString()
    const parts = text.split(/\r?\n|\r/)
    this.partial = parts.pop() ?? ''
    for (const line of parts) this.add(line)
  }

  private add(line: string): void {
    const trimmed = line.trimEnd()
    if (trimmed.trim() === '') return
    this.lines.push(trimmed)
    if (this.lines.length > this.keep) this.lines.shift()
  }

  /** All kept lines, including an unterminated last one. */
  all(): string[] {
    return this.partial.trim() === '' ? [...this.lines] : [...this.lines, this.partial.trimEnd()]
  }

  /** The last `n` lines joined into one line, for an error message. */
  last(n = 6): string {
    return this.all()
      .slice(-n)
      .map(l => l.trim())
      .join(' | ')
  }

  text(): string {
    return this.all().join('\n')
  }
}

export interface RunResult {
  code: number
  tail: OutputTail
  stdout: string
}

/**
 * Runs a tool with @actions/exec (argument array, no shell), streaming its output into the log
 * unless `silent`, and returns its exit code with the last lines it printed. Throws only when the
 * tool cannot be started at all.
 */
export async function runTool(
  tool: string,
  args: string[],
  opts: { silent?: boolean; cwd?: string; env?: Record<string, string> } = {}
): Promise<RunResult> {
  const tail = new OutputTail()
  const stdout: Buffer[] = []
  const code = await exec.exec(tool, args, {
    ignoreReturnCode: true,
    silent: opts.silent ?? false,
    cwd: opts.cwd,
    // @actions/exec hands `env` to the child as its whole environment: start from this process's.
    env: { ...(process.env as Record<string, string>), ...opts.env },
    listeners: {
      stdout: (data: Buffer) => {
        stdout.push(data)
        tail.push(data)
      },
      stderr: (data: Buffer) => tail.push(data)
    }
  })
  return { code, tail, stdout: Buffer.concat(stdout).toString() }
}

/**
 * Runs a command quietly; returns its exit code, its trimmed standard output (`stdout`, for an
 * answer to parse) and both streams (`out`, for a message); code -1 when it cannot start.
 */
export async function probe(
  cmd: string,
  args: string[]
): Promise<{ code: number; out: string; stdout: string }> {
  try {
    // The environment is passed on explicitly, as runTool does (a test's process.env is its own copy).
    const env = process.env as Record<string, string>
    const r = await exec.getExecOutput(cmd, args, { ignoreReturnCode: true, silent: true, env })
    return { code: r.exitCode, out: `${r.stdout}${r.stderr}`.trim(), stdout: r.stdout.trim() }
  } catch (error) {
    return { code: -1, out: (error as Error).message, stdout: '' }
  }
}

/** The last line a command printed, for a one-sentence error. */
export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .filter(l => l.trim() !== '')
      .pop()
      ?.trim() ?? 'no output'
  )
}
