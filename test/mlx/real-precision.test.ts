/**
 * The precision reader against the real mlx_lm (MLX's CPU backend): MLX's own microscaling modes
 * (`mlx_lm convert -q --q-mode mxfp4|nvfp4`) and Hugging Face's mxfp4 layout (GPT-OSS `_blocks`),
 * whose 16-bit estimate must equal what the real `mlx_lm convert -d` writes.
 * Needs MLX_FUSE_TEST_MLX_PYTHON: a Python with mlx-lm[cpu] (the global set-up exports it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { readModelConfig } from '../../src/mlx/model-config.js'
import {
  describePrecision,
  estimateFullPrecisionBytes,
  estimateQuantizedBytes
} from '../../src/mlx/precision.js'
import { inspectWeights } from '../../src/mlx/weights.js'
import { MAKE_TINY_MODEL, SYSTEM_PYTHON, makeTinyModel, run } from '../fixtures/tiny.js'

function mlxPython(): string {
  const python = process.env.MLX_FUSE_TEST_MLX_PYTHON
  if (!python) {
    throw new Error(
      'MLX_FUSE_TEST_MLX_PYTHON is not set: point it at a Python with mlx-lm[cpu]==0.32.2 installed (the global set-up exports it).'
    )
  }
  return python
}

const convert = (args: string[]): Promise<unknown> =>
  run(mlxPython(), ['-m', 'mlx_lm', 'convert', ...args])

async function inspect(dir: string) {
  const config = await readModelConfig(dir)
  const stats = await inspectWeights(dir, config)
  return {
    config,
    stats,
    precision: describePrecision(config.quantization, stats, config.layerBits)
  }
}

let root: string
let bf16: string
beforeAll(async () => {
  mlxPython()
  root = await mkdtemp(path.join(tmpdir(), 'real-quant-modes-'))
  bf16 = await makeTinyModel(path.join(root, 'bf16'), { dtype: 'bf16' })
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe.each([
  ['mxfp4', 32],
  ['nvfp4', 16]
])("MLX's own --q-mode %s", (mode, group) => {
  it('reads as 4-bit quantized, and its 16-bit estimate is the bf16 model it came from', async () => {
    const out = path.join(root, mode)
    await convert(['--hf-path', bf16, '--mlx-path', out, '-q', '--q-mode', mode])
    const source = await inspect(bf16)
    const { stats, precision } = await inspect(out)
    expect(stats.quantized).toBe(true)
    expect(stats.parameters).toBe(source.stats.parameters)
    expect(precision).toBe(`4-bit ${mode}, group ${group}`)
    expect(estimateFullPrecisionBytes(stats)).toBe(source.stats.tensorBytes)
    // One 1-byte scale a group and no biases: the packed part is exactly the estimate.
    expect(estimateQuantizedBytes(stats.packedParameters, 4, group, 2, mode)).toBe(
      stats.packedBytes
    )
  })
})

describe("Hugging Face's mxfp4 layout (GPT-OSS _blocks and _scales)", () => {
  it('estimates exactly what the real mlx_lm convert -d writes', async () => {
    const hf = path.join(root, 'gpt-oss')
    await run(SYSTEM_PYTHON, [MAKE_TINY_MODEL, 'gpt-oss-mxfp4', hf])
    const dequantized = path.join(root, 'gpt-oss-16bit')
    await convert(['--hf-path', hf, '--mlx-path', dequantized, '-d'])
    const base = await inspect(hf)
    const real = await inspect(dequantized)
    expect(base.stats.quantized).toBe(true)
    expect(base.precision).toBe('4-bit mxfp4, group 32')
    expect(real.stats.quantized).toBe(false)
    expect(base.stats.parameters).toBe(real.stats.parameters)
    expect(estimateFullPrecisionBytes(base.stats)).toBe(real.stats.tensorBytes)
  })
})
