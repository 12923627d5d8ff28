import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import * as path from 'node:path'

import { ActionError } from '../types.js'
import { OutputTail } from '../run.js'
import { CommandsStopped } from '../log.js'
import * as log from '../log.js'

export interface SmokeOptions {
  /** llama-completion (or the older llama-cli). */
  bin: string
  model: string
  prompt?: string
  /** Tokens to generate (`-n`). */
  tokens?: number
  /** Per run; the run is killed when it takes longer. */
  timeoutMs?: number
  /**
   * Runs allowed to come back without any generated text (default 4). llama.cpp's logger prints
   * from a background thread that is not joined at exit, so on a busy machine a fast run can exit
   * 0 before its text reaches stdout; exit code 0 still means the model loaded and generated.
   */
  attempts?: number
}

export interface SmokeResult {
  /** Generated text (the echoed prompt removed). */
  text: string
  /** Wall time of the run that produced it. */
  ms: number
}

interface RunOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  tail: OutputTail
  ms: number
}

/**
 * One llama-completion run. child_process.spawn instead of @actions/exec: this step needs a
 * time limit (kill on timeout) and standard input closed, which @actions/exec cannot give.
 */
function runOnce(bin: string, args: string[], timeoutMs: number): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const tail = new OutputTail()
    const out: Buffer[] = []
    // The model's text is arbitrary: it runs inside a stop-commands block (see src/log.ts).
    const fence = new CommandsStopped()
    fence.echo(bin, args)
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.on('data', (d: Buffer) => {
      out.push(d)
      tail.push(d)
      fence.push('out', d)
    })
    child.stderr.on('data', (d: Buffer) => {
      tail.push(d)
      fence.push('err', d)
    })
    child.on('error', err => {
      clearTimeout(timer)
      fence.end()
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      fence.end()
      resolve({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString(),
        tail,
        ms: Date.now() - started
      })
    })
  })
}

/** stdout without the echoed prompt and the end-of-text marker. */
function generatedText(stdout: string, prompt: string): string {
  let text = stdout.replace(/\s*\[end of text\]\s*$/, '').trimStart()
  if (text.startsWith(prompt)) text = text.slice(prompt.length)
  return text.trim()
}

/**
 * Loads a GGUF with llama.cpp's one-shot generator and generates a few tokens
 * (`-m F -p TEXT -n N -no-cnv`, greedy sampling, standard input closed, time-limited).
 */
export async function smokeTest(opts: SmokeOptions): Promise<SmokeResult> {
  const prompt = opts.prompt ?? 'Once upon a time'
  const tokens = opts.tokens ?? 32
  const timeoutMs = opts.timeoutMs ?? 300_000
  const attempts = Math.max(1, opts.attempts ?? 4)
  if (!existsSync(opts.model)) {
    throw new ActionError(
      `The smoke test cannot find ${opts.model}: the GGUF file was not written.`
    )
  }
  const args = ['-m', opts.model, '-p', prompt, '-n', String(tokens), '-no-cnv', '--temp', '0']
  const name = path.basename(opts.model)
  return core.group(`Smoke test: ${name} generates ${tokens} tokens`, async () => {
    let last: RunOutcome | undefined
    for (let i = 1; i <= attempts; i++) {
      let run: RunOutcome
      try {
        run = await runOnce(opts.bin, args, timeoutMs)
      } catch (err) {
        throw new ActionError(
          `Could not start ${opts.bin} for the smoke test (${(err as Error).message}): check the llama.cpp build or set smoke-test to false.`
        )
      }
      if (run.timedOut) {
        throw new ActionError(
          `The smoke test of ${name} did not finish within ${Math.round(timeoutMs / 1000)} s ` +
            `(last output: ${run.tail.last()}); the model may be too large for this runner: set smoke-test to false.`
        )
      }
      if (run.code !== 0) {
        const how =
          run.code === null ? `was killed by ${run.signal}` : `exited with code ${run.code}`
        throw new ActionError(
          `llama.cpp could not load or run ${name}: ${path.basename(opts.bin)} ${how} ` +
            `(last output: ${run.tail.last()}); the GGUF file is not usable, check the conversion output above.`
        )
      }
      last = run
      const text = generatedText(run.stdout, prompt)
      if (text !== '') return { text, ms: run.ms }
      if (i < attempts)
        log.info(
          `${path.basename(opts.bin)} exited 0 but its text was not flushed; running it again`
        )
    }
    log.info(`${name} loaded and generated (exit code 0), but llama.cpp printed no text`)
    return { text: '', ms: last?.ms ?? 0 }
  })
}
