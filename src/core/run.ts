/** Runs external tools (argument arrays, never a shell), their output fenced off from the runner. */
import * as core from '@actions/core'
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { discard } from './workspace.js'
import { CommandsStopped } from './log.js'
import { ActionError, type ErrorParts } from './errors.js'

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

/**
 * Cancelling a job: the runner signals only the action's own process (node), SIGINT first, then
 * SIGTERM 7.5 s later, then kills the process tree 2.5 s after that (actions/runner commit
 * 0acefcf19943, src/Runner.Sdk/ProcessInvoker.cs, CancelAndKillProcessTree, _sigintTimeout and
 * _sigtermTimeout).
 * Node's default for both signals is to exit at once, which left mlx_lm running as an orphan, a
 * full-size staging folder in the workspace and the log inside an open stop-commands block. So
 * {@link cancelOnSignals} forwards the signal to the running tool's whole process group, kills it
 * after {@link TOOL_GRACE_MS}, and lets the failure path run: the step removes its partial output,
 * the fence is closed, the failed manifest and summary are written, and the step exits 128 + the
 * signal's number. No tool starts after a cancel.
 */
const TOOL_GRACE_MS = 3000
/** If the failure path itself hangs, exit before the runner's kill: fences closed, code non-zero. */
const EXIT_DEADLINE_MS = 9000
let cancelledBy: NodeJS.Signals | null = null
/** Running tools, each with its kill timer once a cancel reached it. */
const running = new Map<ChildProcess, NodeJS.Timeout | null>()
const openFences = new Set<CommandsStopped>()

/** The run was cancelled: thrown by {@link runTool} instead of starting or reporting a tool. */
export class Cancelled extends ActionError {
  constructor(
    readonly signal: NodeJS.Signals,
    tool: string,
    readonly started: boolean
  ) {
    super({
      problem: `The job was cancelled (the runner sent ${signal}) ${started ? `while ${tool} ran: it was stopped, its partial output removed` : `before ${tool} started`}, and nothing was measured or uploaded`,
      fix: 'run the job again to make the outputs',
      exitCode: signalExitCode(signal)
    })
  }
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0)
}

/** From now on SIGINT and SIGTERM cancel the run as described above (called once, by index.ts). */
export function cancelOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => cancel(signal))
}

function cancel(signal: NodeJS.Signals): void {
  if (cancelledBy === null) {
    cancelledBy = signal
    process.exitCode = signalExitCode(signal)
    setTimeout(() => {
      for (const fence of openFences) fence.end()
      process.exit(signalExitCode(signal))
    }, EXIT_DEADLINE_MS).unref()
  }
  for (const [child, timer] of running) {
    signalGroup(child, signal) // a second signal (the runner's SIGTERM) is forwarded too
    if (timer === null) {
      running.set(
        child,
        setTimeout(() => signalGroup(child, 'SIGKILL'), TOOL_GRACE_MS)
      )
    }
  }
}

/** Signals the tool and everything it started: each tool leads its own process group. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
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
 * and the output runs inside a stop-commands block (see src/core/log.ts).
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
  const name = path.basename(tool)
  if (cancelledBy) throw new Cancelled(cancelledBy, name, false)
  const log = opts.silent ? null : new CommandsStopped()
  if (log) openFences.add(log)
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
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a cancel or a timeout reaches what the tool started too.
        detached: true
      })
      running.set(child, null)
      const timer =
        opts.timeoutMs === undefined
          ? null
          : setTimeout(() => {
              timedOut = true
              signalGroup(child, 'SIGKILL')
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
      const done = (): void => {
        if (timer) clearTimeout(timer)
        const kill = running.get(child)
        if (kill) clearTimeout(kill)
        running.delete(child)
      }
      child.on('error', error => {
        done()
        reject(new Error(`Cannot start ${tool}: ${error.message}`))
      })
      child.on('close', (c, s) => {
        done()
        resolve({ code: c, signal: s })
      })
    })
    if (cancelledBy) throw new Cancelled(cancelledBy, name, true)
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
    if (log) openFences.delete(log)
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
  /** The failure when the tool cannot be started (default: names `bin` and the hint). */
  cannotStart?: (message: string) => ErrorParts
  /** The failure when the tool failed (default: `TOOL failed with exit code N (last output: …); HINT.`). */
  failure?: (result: RunResult) => ErrorParts
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
      if (error instanceof Cancelled) {
        const partial = typeof step.cleanup === 'function' ? await step.cleanup() : step.cleanup
        await discard(...(partial ?? []))
        throw new Cancelled(error.signal, step.tool, error.started)
      }
      const message = (error as Error).message
      throw new ActionError(
        step.cannotStart?.(message) ?? {
          problem: `Could not start ${step.bin} (${message})`,
          fix: step.hint
        }
      )
    }
    if (result.code === 0 && !result.timedOut) return result
    const partial = typeof step.cleanup === 'function' ? await step.cleanup() : step.cleanup
    await discard(...(partial ?? []))
    throw new ActionError(
      step.failure?.(result) ?? {
        problem: `${step.tool} ${describeExit(result)} (last output: ${result.tail.last()})`,
        fix: step.hint
      },
      result.code
    )
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
    if (error instanceof Cancelled) throw error
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
