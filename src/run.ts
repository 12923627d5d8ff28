/** Runs an external tool through @actions/exec (argument array, no shell), streaming its output. */
import * as exec from '@actions/exec'

export interface RunResult {
  code: number
  /** The last lines the tool printed (stdout and stderr), for error messages. */
  tail: string[]
}

/** Streams the tool's output to the log and keeps its last `keep` lines. Never throws on exit code. */
export async function runTool(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; keep?: number } = {}
): Promise<RunResult> {
  const keep = opts.keep ?? 12
  const tail: string[] = []
  let partial = ''
  const collect = (data: Buffer): void => {
    const lines = (partial + data.toString()).split(/\r?\n/)
    partial = lines.pop() ?? ''
    tail.push(...lines.filter(l => l.trim() !== ''))
    if (tail.length > keep) tail.splice(0, tail.length - keep)
  }
  const code = await exec.exec(cmd, args, {
    ignoreReturnCode: true,
    cwd: opts.cwd,
    env: opts.env ? { ...(process.env as Record<string, string>), ...opts.env } : undefined,
    listeners: { stdout: collect, stderr: collect }
  })
  if (partial.trim() !== '') tail.push(partial)
  return { code, tail: tail.slice(-keep) }
}

/** Runs a command quietly; returns its exit code and trimmed output (-1 when it cannot start). */
export async function probe(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec.getExecOutput(cmd, args, { ignoreReturnCode: true, silent: true })
    return { code: r.exitCode, out: `${r.stdout}${r.stderr}`.trim() }
  } catch (error) {
    return { code: -1, out: (error as Error).message }
  }
}

/** `a | b | c`: the last lines of a tool's output in one line, for a single-sentence error. */
export function lastLines(lines: string[], n = 3): string {
  const picked = lines.slice(-n).map(l => l.trim())
  return picked.length ? picked.join(' | ') : 'no output'
}
