/**
 * run() in-process with a mocked @actions/core (test/__fixtures__/core.ts): the orchestration
 * cases (an input error stops before any work; the verdict decides the step; the manifest and the
 * summary are written) in seconds. The real path, dist/index.js under Node 24, stays in e2e-*.
 * Replaced, as in every test: mlx_lm (the stand-in python).
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import * as core from './__fixtures__/core.js'
import { makeTinySetup } from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'
import { qualityChartSvg } from '../src/report/chart.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../src/main.js')

let root: string
let base: string
let adapters: string
let python: string

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('main', { base: { dtype: 'bf16' } }))
  // The failure summary is written only on a runner (the mock collects it instead of the file).
  process.env.GITHUB_STEP_SUMMARY = path.join(root, 'summary.md')
})

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

/** Inputs for an MLX-only run into a fresh folder; returns that folder's output paths. */
async function mlxRun(extra: Record<string, string>): Promise<{ out: string; manifest: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  const out = path.join(dir, 'fused-model')
  Object.assign(core.inputs, {
    'base-model': base,
    'adapter-path': adapters,
    python,
    'output-dir': out,
    upload: 'false',
    ...extra
  })
  return { out, manifest: `${out}.manifest.json` }
}

describe('run() in-process', () => {
  it('stops at an input error with one sentence, before any tool or folder', async () => {
    const { out, manifest } = await mlxRun({ 'size-budget': 'mlx: 2MB' })
    await run()
    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      'Input size-budget entry "mlx: 2MB" separates target and size with a colon; write it as mlx=2MB.'
    )
    expect(core.group).not.toHaveBeenCalled()
    await expect(fs.stat(out)).rejects.toThrow(/ENOENT/)
    await expect(fs.stat(manifest)).rejects.toThrow(/ENOENT/)
    expect(core.summary.text).toContain('Failed:')
  })

  it('fails the step when an output is over budget, after writing the manifest and summary', async () => {
    const { out, manifest } = await mlxRun({ 'size-budget': 'mlx=1kB' })
    await run()
    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      'mlx is over the size budget; see the job summary for sizes and why, then shrink the output or raise size-budget.'
    )
    expect(core.error).toHaveBeenCalledWith(
      expect.stringMatching(/^mlx: .* is over its budget of 1.00 kB/),
      {
        title: 'Size budget exceeded'
      }
    )
    expect(core.outputs['within-budget']).toBe('false')
    const written = await readValidManifest(manifest)
    expect(written).toMatchObject({ status: 'complete', withinBudget: false })
    // The peak is the fused model, measured: nothing else was written and kept at once.
    const mlxBytes = Number(JSON.parse(core.outputs.sizes).mlx)
    expect(written.peakDiskBytes).toBe(mlxBytes)
    expect((await fs.stat(out)).isDirectory()).toBe(true)
    expect(core.summary.text).toContain('Over the size budget: this step fails')
    // Each figure once, in both units: "Peak disk use: 2.96 MB (2.83 MiB), the most ...".
    expect(core.summary.text).toMatch(/Peak disk use: [\d.]+ MB \([\d.]+ MiB\), the most this run/)
  })

  it('passes with a warning when on-over-budget is warn', async () => {
    await mlxRun({ 'size-budget': 'mlx=1kB', 'on-over-budget': 'warn' })
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(core.warning).toHaveBeenCalledWith(
      expect.stringMatching(/^mlx: .* is over its budget/),
      {
        title: 'Size budget exceeded'
      }
    )
    expect(core.outputs['within-budget']).toBe('false')
    expect(core.summary.text).toContain('Over the size budget (warn only: this step passes)')
  })

  it("removes an earlier run's chart as it starts writing, and leaves a user's file of that name", async () => {
    const { out, manifest } = await mlxRun({ overwrite: 'true' })
    const chart = `${out}.quality.svg`
    // An earlier run with eval-data left its chart (the action's own, as the action writes it).
    await fs.writeFile(chart, qualityChartSvg([]))
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    await expect(fs.stat(chart)).rejects.toThrow(/ENOENT/)
    expect((await readValidManifest(manifest)).quality).toBeNull()
    expect(core.summary.text).not.toContain('.quality.svg')
    // A file of the same name the action did not write is the user's: left as it is.
    await fs.writeFile(chart, '<svg>mine</svg>')
    core.reset()
    await mlxRun({ 'output-dir': out, overwrite: 'true' })
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(await fs.readFile(chart, 'utf8')).toBe('<svg>mine</svg>')
  })
})
