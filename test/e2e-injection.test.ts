/**
 * Issue 6, forged workflow commands, end to end through the bundled dist/index.js under Node 24
 * (one of the suites that keep spawning it: inputs reach it as INPUT_* variables, the tool's
 * output through the process's pipes): inputs and folder names that carry `::error::` or
 * `##[error]`, and a tool that prints them, must not reach the runner as commands. `run.commands`
 * reads stdout with a model of the runner's own parser (test/fixtures/action.ts, runnerCommands),
 * stop-commands blocks included. The job-summary cases run run() in-process
 * (fixtures/in-process.ts).
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'
import { makeAdapters, makeStandInPython, makeTinyModel } from './fixtures/tiny.js'

let root: string
let base: string
let adapters: string
let python: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-injection-')))
  // mlx_lm globs the model folder (model*.safetensors), so `[` cannot be in the base's name.
  base = await makeTinyModel(path.join(root, 'base ::error::forged-base'), {
    bits: 4,
    groupSize: 64
  })
  adapters = await makeAdapters(path.join(root, 'adapters ::warning::forged-adapters'), base, {
    rank: 8
  })
  const standIn = await makeStandInPython(path.join(root, 'py'), '0.32.2')
  // A python that prints forged commands of its own before doing its work, as a tool could.
  python = path.join(root, 'loud-python')
  await fs.writeFile(
    python,
    `#!/bin/sh\necho '::error::forged by the tool'\necho '  ::warning::forged by the tool'\necho 'tool says ##[error]forged by the tool'\nexec '${standIn}' "$@"\n`,
    { mode: 0o755 }
  )
}, 120_000)

/**
 * Commands the runner would act on that the attacker wrote: every injection's data starts with
 * "forged", or it sets an output. The action's own error sentence may quote a path as text.
 */
const forged = (run: ActionRun): string[] =>
  run.commands
    .filter(c => c.data.startsWith('forged') || c.command.toLowerCase() === 'set-output')
    .map(c => c.line)

describe('forged workflow commands, end to end (spawns dist/index.js)', () => {
  it.each([
    ['output-dir', 'out\n::error::forged'],
    ['output-dir', 'out\n##[error]forged'],
    ['adapter-path', 'x\r::set-output name=within-budget::true'],
    ['gguf-dir', 'g\n##[warning]forged']
  ])('refuses a control character in %s up front, and forges nothing', async (input, value) => {
    const run = await runAction({
      'base-model': base,
      'adapter-path': adapters,
      python,
      [input]: value
    })
    expect(run.code).toBe(1)
    expect(forged(run)).toEqual([])
    expect(run.commands.filter(c => c.command === 'error').map(c => c.data)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Input ${input} holds the control character U\\+000[AD] \\((line feed|carriage return)\\)`
        )
      )
    ])
    expect(run.outputs['within-budget']).toBeUndefined()
  })

  it('passes folder names and tool output holding commands through without forging one', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runAction(
      {
        'base-model': base,
        'adapter-path': adapters,
        'output-dir': 'fused ::error::forged-out ##[error]forged-out',
        python,
        'size-budget': 'mlx=5MB'
      },
      { cwd: dir }
    )
    expect(forged(run)).toEqual([])
    expect(run.code).toBe(0)
    expect(run.outputs['within-budget']).toBe('true')
    // The tool's lines and the paths are in the log, as text.
    expect(run.stdout).toContain('::error::forged by the tool')
    expect(run.stdout).toMatch(
      /\[command\].*--adapter-path '.*adapters :\u2060:warning:\u2060:forged-adapters'.*--save-path '.*fused :\u2060:error:\u2060:forged-out #\u2060#\[error\]forged-out\.fuse-/
    )
    expect(run.commands.filter(c => c.command === 'error' || c.command === 'warning')).toEqual([])
  }, 120_000)

  it('forges nothing when the fuse fails and its output quotes the paths', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runAction(
      {
        'base-model': base,
        'adapter-path': adapters,
        'output-dir': 'fused ##[error]forged-out',
        python
      },
      { cwd: dir, env: { MLX_STANDIN_FAIL: 'fuse' } }
    )
    expect(run.code).toBe(3)
    // The stand-in printed the staging path, which holds the folder name.
    expect(run.stdout).toMatch(/\[stand-in\] writing .*fused ##\[error\]forged-out\.fuse-/)
    expect(forged(run)).toEqual([])
    const errors = run.commands.filter(c => c.command === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].data).toMatch(/^mlx_lm fuse failed with exit code 3: /)
  }, 120_000)
})

/**
 * Issue 14: inputs outside the control-character check reached the failure summary raw. GitHub
 * renders the summary as Markdown, where a blank line ends the HTML block and starts live
 * Markdown: an image that loads from anywhere, a heading.
 */
describe('Markdown in any input never reaches the job summary live', () => {
  const MARKDOWN = '\n\n![tracker](https://evil.example/pixel.png)\n\n# Forged heading'
  const live = (summary: string): boolean =>
    /\n\s*\n!\[tracker\]/.test(summary) || /^# Forged heading/m.test(summary)

  it.each([
    ['dequantize', `true${MARKDOWN}`],
    ['retention-days', `5${MARKDOWN}`],
    ['on-over-budget', `warn${MARKDOWN}`],
    ['revision', `main${MARKDOWN}`],
    ['smoke-test', `true${MARKDOWN}`],
    ['artifact-name', `model${MARKDOWN}`]
  ])(
    'refuses a line break in %s by name and position, and the summary stays text',
    async (input, value) => {
      const run = await runInProcess({
        'base-model': base,
        'adapter-path': adapters,
        python,
        [input]: value
      })
      expect(run.code).toBe(1)
      expect(run.commands.filter(c => c.command === 'error').map(c => c.data)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Input ${input} holds the control character U\\+000A \\(line feed\\) at position \\d+`
          )
        )
      ])
      expect(live(run.summary)).toBe(false)
    }
  )

  it('keeps a list input (gguf) that may hold line breaks on one line of HTML when it is quoted', async () => {
    const run = await runInProcess({
      'base-model': base,
      'adapter-path': adapters,
      python,
      gguf: `auto${MARKDOWN}`,
      'size-budget': 'gguf=1GB'
    })
    expect(run.code).toBe(1)
    expect(run.summary).toContain('"auto" stands alone')
    expect(live(run.summary)).toBe(false)
    expect(run.summary).toContain('&#10;&#10;![tracker]')
  })
})
