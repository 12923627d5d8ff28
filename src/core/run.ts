/** Runs external tools (argument arrays, never a shell), their output fenced off from the runner. */
import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import os from 'node:os'
import { discard } from './folders.js'
import { CommandsStopped } from './log.js'
import { ActionError } from './types.js'

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
  /** True when the tool ran past `timeoutMs` and was killed. */
  timedOut: boolean
  tail: OutputTail
  stdout: string
  /** stdout as bytes (a model's text need not be valid UTF-8). */
  raw: Buffer
  stderr: string
  /** Everything it printed, stdout and stderr, in order. */
  output: string
  ms: number
}

export interface RunOptions {
  /** No echo, no streaming: for probes whose output is parsed, not shown. */
  silent?: boolean
  cwd?: string
  env?: Record<string, string>
  /** Kill the tool (SIGKILL) after this many milliseconds; `timedOut` says so. */
  timeoutMs?: number
}

/**
 * The one place the action starts a process: runs a tool (argument array, no shell, standard
 * input closed), streaming its output into the log unless `silent`, and returns its exit code (or
 * the signal that killed it) with the last lines it printed. Throws only when the tool cannot be
 * started at all. Use {@link runStep} for a step that must succeed, {@link probe} for a question.
 *
 * child_process.spawn rather than @actions/exec: @actions/exec reports a tool killed by a signal
 * as exit code null without the signal, has no time limit, and echoes argv and streams output
 * unescaped, so a path or a model's text could forge a workflow command. Here the echo is escaped
 * and the output runs inside a stop-commands block (see src/log.ts).
 */
export async function runTool(
  tool: string,
  args: readonly string[],
  opts: RunOptions = {}
): Promise<RunResult> {
  const started = Date.now()
  const tail = new OutputTail()
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  const all: Buffer[] = []
  const log = opts.silent ? null : new CommandsStopped()
  log?.echo(tool, args)
  let timedOut = false
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
      const timer =
        opts.timeoutMs === undefined
          ? null
          : setTimeout(() => {
              timedOut = true
              child.kill('SIGKILL')
            }, opts.timeoutMs)
      child.stdout.on('data', (data: Buffer) => {
        stdout.push(data)
        all.push(data)
        tail.push(data)
        log?.push('out', data)
      })
      child.stderr.on('data', (data: Buffer) => {
        stderr.push(data)
        all.push(data)
        tail.push(data)
        log?.push('err', data)
      })
      child.on('error', error => {
        if (timer) clearTimeout(timer)
        reject(new Error(`Cannot start ${tool}: ${error.message}`))
      })
      child.on('close', (c, s) => {
        if (timer) clearTimeout(timer)
        resolve({ code: c, signal: s })
      })
    })
    const raw = Buffer.concat(stdout)
    return {
      code: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0),
      signal: code === null ? signal : null,
      timedOut,
      tail,
      stdout: raw.toString(),
      raw,
      stderr: Buffer.concat(stderr).toString(),
      output: Buffer.concat(all).toString(),
      ms: Date.now() - started
    }
  } finally {
    log?.end()
  }
}

/** A step that must succeed: one external command, its failure one sentence. */
export interface Step extends RunOptions {
  /** The log group its output streams into (omit it inside a caller's group, or when silent). */
  title?: string
  /** The tool's name in messages, e.g. `llama-quantize`. */
  tool: string
  bin: string
  args: readonly string[]
  /** Partial outputs, removed when the step fails (a function when their names are known only then). */
  cleanup?: readonly string[] | (() => Promise<readonly string[]>)
  /** The fix, ending the failure sentence. */
  hint: string
  /** The sentence when the tool cannot be started (default: names `bin` and the hint). */
  cannotStart?: (message: string) => string
  /** The sentence when the tool failed (default: `TOOL failed with exit code N (last output: …); HINT.`). */
  failure?: (result: RunResult) => string
}

/**
 * Runs one step: in its log group, inside the stop-commands fence, keeping the last lines; on a
 * non-zero exit (or a timeout) removes the partial outputs and throws an ActionError that carries
 * the tool's exit code, so the action's step exits with it.
 */
export async function runStep(step: Step): Promise<RunResult> {
  const go = async (): Promise<RunResult> => {
    let result: RunResult
    try {
      result = await runTool(step.bin, step.args, step)
    } catch (error) {
      const message = (error as Error).message
      throw new ActionError(
        step.cannotStart?.(message) ?? `Could not start ${step.bin} (${message}); ${step.hint}.`
      )
    }
    if (result.code === 0 && !result.timedOut) return result
    const partial = typeof step.cleanup === 'function' ? await step.cleanup() : step.cleanup
    await discard(...(partial ?? []))
    const text =
      step.failure?.(result) ??
      `${step.tool} ${describeExit(result)} (last output: ${result.tail.last()}); ${step.hint}.`
    throw new ActionError(text, result.code)
  }
  return step.title === undefined ? go() : core.group(step.title, go)
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
 * Runs a command quietly ({@link runTool}, silent); returns its exit code, its trimmed standard
 * output (`stdout`, for an answer to parse) and both streams (`out`, for a message); code -1
 * when it cannot start.
 */
export async function probe(
  cmd: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'silent'> = {}
): Promise<{ code: number; out: string; stdout: string }> {
  try {
    const r = await runTool(cmd, args, { ...opts, silent: true })
    return { code: r.code, out: r.output.trim(), stdout: r.stdout.trim() }
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
