/**
 * Issue 6, forged workflow commands: a tool's output and the action's own log lines must never
 * reach the runner as a command. runnerCommands models the runner's parser (actions/runner).
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { CommandsStopped, commandLine, logSafe } from '../../src/core/log.js'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describeExit, probe, runStep, runTool } from '../../src/core/run.js'
import { ActionError } from '../../src/core/types.js'
import { runnerCommands } from '../fixtures/action.js'

const FORGED = [
  '::error::forged',
  '  ::warning file=x::forged',
  'text ##[error]forged',
  '##[set-output name=within-budget;]true',
  '::stop-commands::x',
  '::set-output name=within-budget::true'
]

let written: string[]
const spy = jest.spyOn(process.stdout, 'write')
beforeEach(() => {
  written = []
  spy.mockImplementation(chunk => {
    written.push(String(chunk))
    return true
  })
})
afterEach(() => {
  spy.mockReset()
})

describe('the model of the runner parser', () => {
  it('sees every forged form when nothing stops it (the attack works without the fence)', () => {
    const cmds = runnerCommands(FORGED.join('\n'))
    expect(cmds.map(c => c.command)).toEqual(['error', 'warning', 'error', 'set-output'])
  })
})

describe('logSafe', () => {
  it.each(FORGED)('leaves no command in %j', text => {
    expect(runnerCommands(logSafe(text))).toEqual([])
    expect(runnerCommands(`Adapters: lora (${logSafe(`/w/a\n${text}`)})`)).toEqual([])
  })

  it('spells control characters out, so one call is one line', () => {
    expect(logSafe('a\nb\r\u0007c')).toBe('a\\u000ab\\u000d\\u0007c')
  })

  it('quotes a command line argument with spaces and keeps it one safe line', () => {
    const line = commandLine('/usr/bin/python3', ['-m', 'mlx_lm', '--save-path', '/w/o ##[error]x'])
    expect(line).toBe("/usr/bin/python3 -m mlx_lm --save-path '/w/o #\u2060#[error]x'")
    expect(runnerCommands(`[command]${line}`)).toEqual([])
  })
})

describe('CommandsStopped', () => {
  it('fences partial lines from both streams and always resumes on a line of its own', () => {
    const out: string[] = []
    const fence = new CommandsStopped(t => out.push(t))
    fence.echo('/bin/tool', ['a'])
    fence.push('out', '::error::forged\npartial ')
    fence.push('err', '##[error]forged without newline')
    fence.push('out', 'line')
    fence.end()
    fence.end()
    const text = out.join('')
    expect(runnerCommands(text)).toEqual([])
    expect(runnerCommands(`${text}::error::real\n`).map(c => c.data)).toEqual(['real'])
    expect(text).toContain('partial line\n')
    expect(text.match(/^::stop-commands::mlx-fuse-[0-9a-f]{32}$/m)).not.toBeNull()
  })
})

describe('runTool', () => {
  it("streams a tool's forged commands inside a stop-commands block, argv echo included", async () => {
    const script = [...FORGED, 'echo-arg'].map(l => `printf '%s\\n' '${l}'`).join('; ')
    const r = await runTool('/bin/sh', [
      '-c',
      `${script}; printf '::error::no newline' >&2`,
      '\n::error::argv'
    ])
    expect(r.code).toBe(0)
    const text = written.join('')
    expect(text).toContain('::error::forged')
    expect(runnerCommands(text)).toEqual([])
    // A command printed after the tool still works: the block was closed.
    expect(runnerCommands(`${text}::error::after\n`).map(c => c.data)).toEqual(['after'])
  })

  it('names the signal that killed a tool, instead of "exit code null"', async () => {
    const r = await runTool('/bin/sh', ['-c', 'kill -KILL $$'], { silent: true })
    expect(r.signal).toBe('SIGKILL')
    expect(r.code).toBe(137)
    expect(describeExit(r)).toBe(
      'was killed by SIGKILL (signal 9, which usually means the machine ran out of memory)'
    )
    expect(describeExit({ code: 2, signal: null })).toBe('failed with exit code 2')
  })
})

describe('runStep, the one way to run a step', () => {
  it("removes the partial output and throws one sentence carrying the tool's exit code", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'step-'))
    const partial = path.join(dir, 'half.gguf')
    const error = await runStep({
      title: 'Writing half a file',
      tool: 'writer',
      bin: '/bin/sh',
      args: ['-c', `printf x > '${partial}'; echo first; echo 'last words' >&2; exit 3`],
      cleanup: [partial],
      hint: 'fix the writer'
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).exitCode).toBe(3)
    expect((error as ActionError).message).toBe(
      'writer failed with exit code 3 (last output: first | last words); fix the writer.'
    )
    await expect(fs.stat(partial)).rejects.toThrow(/ENOENT/)
    expect(written.join('')).toContain('::group::Writing half a file')
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('kills a tool that runs past its time limit, with its standard input closed', async () => {
    // `cat` would wait forever on an open stdin; closed, it ends at once, so `sleep` is what times out.
    const r = await runTool('/bin/sh', ['-c', 'cat; echo read-eof; exec sleep 5'], {
      silent: true,
      timeoutMs: 300
    })
    expect(r.stdout).toBe('read-eof\n')
    expect(r.timedOut).toBe(true)
    const error = await runStep({
      tool: 'sleeper',
      bin: '/bin/sh',
      args: ['-c', 'exec sleep 5'],
      silent: true,
      timeoutMs: 200,
      hint: 'wait less',
      failure: res => ({ problem: res.timedOut ? 'sleeper timed out' : 'other', fix: 'wait less' })
    }).catch((e: unknown) => e)
    expect((error as ActionError).message).toBe('sleeper timed out; wait less.')
    expect((error as ActionError).exitCode).toBe(137)
  })

  it('probe answers quietly, and -1 for a tool that cannot start', async () => {
    await expect(probe('/bin/sh', ['-c', 'echo out; echo err >&2; exit 4'])).resolves.toEqual({
      code: 4,
      out: 'out\nerr',
      stdout: 'out'
    })
    expect((await probe('/nonexistent/tool', [])).code).toBe(-1)
    expect(written.join('')).toBe('')
  })
})
