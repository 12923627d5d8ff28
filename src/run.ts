/** Runs external tools (argument arrays, never a shell), their output fenced off from the runner. */
import * as exec from '@actions/exec'
import { spawn } from 'node:child_process'
import os from 'node:os'
import { CommandsStopped } from './log.js'

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
  /** The exit code; for a tool killed by a signal, 128 + the signal's number, as a shell says. */
  code: number
  /** The signal that killed the tool, e.g. SIGKILL, else null. */
  signal: NodeJS.Signals | null
  tail: OutputTail
  stdout: string
}

/**
 * Runs a tool (argument array, no shell), streaming its output into the log unless `silent`, and
 * returns its exit code (or the signal that killed it) with the last lines it printed. Throws only
 * when the tool cannot be started at all.
 *
 * child_process.spawn rather than @actions/exec: @actions/exec reports a tool killed by a signal
 * as exit code null without the signal, and echoes argv and streams output unescaped, so a path
 * or a model's text could forge a workflow command. Here the echo is escaped and the output runs
 * inside a stop-commands block (see src/log.ts).
 */
export async function runTool(
  tool: string,
  args: string[],
  opts: { silent?: boolean; cwd?: string; env?: Record<string, string> } = {}
): Promise<RunResult> {
  const tail = new OutputTail()
  const stdout: Buffer[] = []
  const log = opts.silent ? null : new CommandsStopped()
  log?.echo(tool, args)
  try {
    const { code, signal } = await new Promise<{
      code: number | null
      signal: NodeJS.Signals | null
    }>((resolve, reject) => {
      const child = spawn(tool, args, {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      child.stdout.on('data', (data: Buffer) => {
        stdout.push(data)
        tail.push(data)
        log?.push('out', data)
      })
      child.stderr.on('data', (data: Buffer) => {
        tail.push(data)
        log?.push('err', data)
      })
      child.on('error', error => reject(new Error(`Cannot start ${tool}: ${error.message}`)))
      child.on('close', (c, s) => resolve({ code: c, signal: s }))
    })
    return {
      code: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0),
      signal: code === null ? signal : null,
      tail,
      stdout: Buffer.concat(stdout).toString()
    }
  } finally {
    log?.end()
  }
}

/**
 * How a failed tool ended, for a sentence: `failed with exit code 2`, or `was killed by SIGKILL
 * (signal 9, which usually means the machine ran out of memory)`.
 */
export function describeExit(result: Pick<RunResult, 'code' | 'signal'>): string {
  if (!result.signal) return `failed with exit code ${result.code}`
  const number = os.constants.signals[result.signal]
  const why =
    result.signal === 'SIGKILL'
      ? ', which usually means the machine ran out of memory'
      : result.signal === 'SIGTERM' || result.signal === 'SIGINT'
        ? ', so it was stopped from outside (a cancelled job?)'
        : ', so it crashed'
  return `was killed by ${result.signal} (signal ${number ?? '?'}${why})`
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
