/**
 * Microscaling bases (mxfp4) in Hugging Face's layout: GPT-OSS ships its experts as U8
 * `*_blocks` and `*_scales` with `quantization_config: {quant_method: mxfp4}`, which mlx_lm loads
 * as MLX mxfp4, 4-bit group 32 (ml-explore/mlx-lm v0.32.2 mlx_lm/utils.py load_model,
 * models/gpt_oss.py sanitize). Read as not quantized, every size and disk estimate was ~4x off.
 * mlx/real-precision.test.ts checks the same figures against the real mlx_lm.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { readModelConfig } from '../../src/mlx/model-config.js'
import { describePrecision, estimateFullPrecisionBytes } from '../../src/mlx/precision.js'
import { inspectWeights } from '../../src/mlx/weights.js'
import { MAKE_TINY_MODEL, SYSTEM_PYTHON, readSafetensorsHeader, run } from '../fixtures/tiny.js'

let root: string
let gptOss: string
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'quant-modes-'))
  gptOss = path.join(root, 'gpt-oss-mxfp4')
  await run(SYSTEM_PYTHON, [MAKE_TINY_MODEL, 'gpt-oss-mxfp4', gptOss])
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)

describe("a GPT-OSS base in Hugging Face's mxfp4 layout (U8 _blocks and _scales)", () => {
  it('reads config.json quant_method mxfp4 as MLX reads it: 4-bit mxfp4, group 32', async () => {
    const config = await readModelConfig(gptOss)
    expect(config.quantization).toEqual({ bits: 4, groupSize: 32, mode: 'mxfp4' })
    // modules_to_not_convert is a list of patterns, not a layer path.
    expect(config.layerBits.size).toBe(0)
  })

  it('counts two 4-bit weights a block byte and estimates the 16-bit model from them', async () => {
    const header = await readSafetensorsHeader(path.join(gptOss, 'model.safetensors'))
    let parameters = 0
    let blockBytes = 0
    let scaleBytes = 0
    for (const [name, t] of Object.entries(header.tensors)) {
      if (name.endsWith('_blocks')) {
        blockBytes += product(t.shape)
        parameters += product(t.shape) * 2
      } else if (name.endsWith('_scales')) scaleBytes += product(t.shape)
      else parameters += product(t.shape)
    }
    const config = await readModelConfig(gptOss)
    const stats = await inspectWeights(gptOss, config)
    expect(stats.quantized).toBe(true)
    expect(stats.parameters).toBe(parameters)
    expect(stats.packedParameters).toBe(blockBytes * 2)
    expect(stats.packedBytes).toBe(blockBytes + scaleBytes)
    expect(stats.floatDtype).toBe('BF16')
    const layer = stats.packedLayers.get('model.layers.0.mlp.experts.down_proj')
    expect(layer).toMatchObject({ bits: 4, groupSize: 32 })
    expect(describePrecision(config.quantization, stats, config.layerBits)).toBe(
      '4-bit mxfp4, group 32'
    )
    // De-quantized, every weight is bf16: two bytes a parameter, no scales left.
    expect(estimateFullPrecisionBytes(stats)).toBe(parameters * 2)
    const raw = JSON.parse(await readFile(path.join(gptOss, 'config.json'), 'utf8')) as {
      quantization_config: { quant_method: string }
    }
    expect(raw.quantization_config.quant_method).toBe('mxfp4')
  })
})
