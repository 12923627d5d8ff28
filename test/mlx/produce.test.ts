/**
 * The MLX stage in-process (src/mlx/produce.ts), which owns every fuse: the MLX output, and the
 * full-precision model it hands the GGUF stage (the output itself when that is full precision, or
 * a second fuse, de-quantized, staged beside gguf-dir). mlx_lm is the stand-in python, a real
 * process; MLX_STANDIN_FAIL makes its fuse fail.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { freeBytes } from '../../src/core/disk.js'
import { Workspace } from '../../src/core/workspace.js'
import type { MlxEnv } from '../../src/mlx/python.js'
import * as core from '../__fixtures__/core.js'
import { makeTinyModel, makeTinySetup } from '../fixtures/tiny.js'

jest.unstable_mockModule('@actions/core', () => core)
const { handOverFullPrecision, produceMlx } = await import('../../src/mlx/produce.js')
const { resolveMlxEnv } = await import('../../src/mlx/python.js')
type MlxPlan = Parameters<typeof produceMlx>[0]

let root: string
let bf16: string
let q4: string
let adapters: string
let env: MlxEnv

beforeAll(async () => {
  let python: string
  ;({
    root,
    base: bf16,
    adapters,
    python
  } = await makeTinySetup('mlx-produce', {
    base: { dtype: 'bf16' }
  }))
  q4 = await makeTinyModel(path.join(root, 'base-q4'), { bits: 4 }) // the same shapes: one adapter set
  env = await resolveMlxEnv({ python, mlxLmVersion: '0.32.2' })
}, 120_000)

afterEach(() => {
  delete process.env.MLX_STANDIN_FAIL
  core.reset()
})

/** An MLX plan that keeps a full-precision model for GGUF, into a fresh folder. */
async function planFor(base: string): Promise<{ plan: MlxPlan; dir: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  const plan: MlxPlan = {
    fuse: {
      env,
      model: base,
      adapterPath: adapters,
      dequantize: false,
      hfToken: null,
      trustRemoteCode: false
    },
    outputDir: path.join(dir, 'fused-model'),
    quantizeBits: null,
    quantizeGroupSize: 64,
    keepFullPrecision: true,
    baseQuantization: null
  }
  return { plan, dir }
}

describe('the MLX stage hands the GGUF stage a full-precision model', () => {
  it('hands over the MLX output itself when the fuse is full precision: no second fuse', async () => {
    const { plan } = await planFor(bf16)
    const ws = new Workspace(freeBytes)
    const mlx = await produceMlx(plan, ws)
    const handOff = await handOverFullPrecision(
      plan,
      mlx,
      path.join(plan.outputDir, '..', 'gguf'),
      ws
    )
    expect(handOff.source).toEqual({ dir: plan.outputDir, owned: null, stats: mlx.fusedStats })
    expect(handOff.commands).toEqual([])
    expect(handOff.source.stats.quantized).toBe(false)
  })

  it('fuses a quantized base again, de-quantized, in a staging folder beside gguf-dir', async () => {
    const { plan, dir } = await planFor(q4)
    const ws = new Workspace(freeBytes)
    const mlx = await produceMlx(plan, ws)
    expect(mlx.kept).toBeNull() // the MLX output is 4-bit: the converter cannot read it
    const afterMlx = ws.peakBytes
    const handOff = await handOverFullPrecision(plan, mlx, path.join(dir, 'gguf'), ws)
    const { source } = handOff
    expect(path.basename(source.dir)).toBe('fused-full-precision')
    expect(path.dirname(source.dir)).toBe(source.owned)
    expect(path.basename(source.owned!)).toMatch(/^\.gguf\.fuse-[0-9a-f]{8}$/)
    expect(path.dirname(source.owned!)).toBe(dir)
    expect(source.stats.quantized).toBe(false)
    expect(handOff.commands.map(c => c.what)).toEqual(['Fuse for GGUF (de-quantized)'])
    expect(handOff.commands[0].argv).toEqual(
      expect.arrayContaining(['--save-path', source.dir, '--dequantize'])
    )
    expect(handOff.diagnoses.map(d => d.title)).toEqual([
      'The GGUF files are re-quantized from 4-bit weights'
    ])
    // the 16-bit fuse is on the ledger beside the 4-bit output
    expect(ws.peakBytes).toBeGreaterThan(afterMlx)
    // the MLX output is untouched: the second fuse never writes into it
    expect((await fs.readdir(dir)).sort()).toEqual([path.basename(source.owned!), 'fused-model'])
  })

  it('a failed second fuse leaves no staging folder, only the MLX output it made first', async () => {
    const { plan, dir } = await planFor(q4)
    const ws = new Workspace(freeBytes)
    const mlx = await produceMlx(plan, ws)
    const afterMlx = (await fs.readdir(dir)).sort()
    process.env.MLX_STANDIN_FAIL = 'fuse'
    await expect(handOverFullPrecision(plan, mlx, path.join(dir, 'gguf'), ws)).rejects.toThrow(
      /^mlx_lm fuse failed with exit code 3: .*; the partial output was removed/
    )
    expect((await fs.readdir(dir)).sort()).toEqual(afterMlx)
    expect(afterMlx).toEqual(['fused-model'])
  })
})
