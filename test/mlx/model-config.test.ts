import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { checkRemoteCode, readModelConfig } from '../../src/mlx/model-config.js'
import {
  bitsPerWeight,
  describePrecision,
  estimateFullPrecisionBytes,
  estimateQuantizedBytes
} from '../../src/mlx/precision.js'
import { inspectWeights } from '../../src/mlx/weights.js'
import { ActionError, type WeightStats } from '../../src/core/types.js'
import { writeSafetensors, type TensorSpec } from '../fixtures/safetensors.js'
import { rejection } from '../fixtures/rejection.js'

type Tensors = Record<string, TensorSpec>

/** How MLX-ish test models are written: `format: mlx` metadata, header not padded. */
const MLX_FILE = { metadata: { format: 'mlx' }, pad: false }

/** An MLX-quantized Linear/Embedding: packed U32 weight (byte stream), scales and biases. */
function packed(
  name: string,
  out: number,
  inFeatures: number,
  bits: number,
  group = 64,
  scaleDtype = 'BF16',
  biases = true
): Tensors {
  const t: Tensors = {
    [`${name}.weight`]: { dtype: 'U32', shape: [out, (inFeatures * bits) / 32] },
    [`${name}.scales`]: { dtype: scaleDtype, shape: [out, inFeatures / group] }
  }
  if (biases) t[`${name}.biases`] = { dtype: scaleDtype, shape: [out, inFeatures / group] }
  return t
}

function dense(name: string, shape: number[], dtype = 'BF16'): Tensors {
  return { [name]: { dtype, shape } }
}

const H = 256
const V = 512
const I = 512
/** Parameters of the little llama-like model used throughout. */
const PARAMS = {
  embed: V * H,
  q: H * H,
  up: I * H,
  down: H * I,
  norms: 2 * H,
  lmHead: V * H
}
const TOTAL = Object.values(PARAMS).reduce((a, b) => a + b, 0)

function floatModel(dtype: string): Tensors {
  return {
    ...dense('model.embed_tokens.weight', [V, H], dtype),
    ...dense('model.layers.0.self_attn.q_proj.weight', [H, H], dtype),
    ...dense('model.layers.0.mlp.up_proj.weight', [I, H], dtype),
    ...dense('model.layers.0.mlp.down_proj.weight', [H, I], dtype),
    ...dense('model.layers.0.input_layernorm.weight', [H], dtype),
    ...dense('model.norm.weight', [H], dtype),
    ...dense('lm_head.weight', [V, H], dtype)
  }
}

/** The same model quantized; `lmHead` decides how lm_head is stored. */
function quantModel(bits: number, lmHead: Tensors | null = null, group = 64): Tensors {
  return {
    ...packed('model.embed_tokens', V, H, bits, group),
    ...packed('model.layers.0.self_attn.q_proj', H, H, bits, group),
    ...packed('model.layers.0.mlp.up_proj', I, H, bits, group),
    ...packed('model.layers.0.mlp.down_proj', H, I, bits, group),
    ...dense('model.layers.0.input_layernorm.weight', [H]),
    ...dense('model.norm.weight', [H]),
    ...(lmHead ?? packed('lm_head', V, H, bits, group))
  }
}

let root: string
let counter = 0
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'model-test-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function makeModel(
  tensors: Tensors,
  config: Record<string, unknown> | string | null,
  shards = 1
): Promise<string> {
  const dir = path.join(root, `m${counter++}`)
  await mkdir(dir)
  if (config !== null) {
    await writeFile(
      path.join(dir, 'config.json'),
      typeof config === 'string' ? config : JSON.stringify(config)
    )
  }
  if (shards === 1) {
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, MLX_FILE)
    return dir
  }
  const names = Object.keys(tensors)
  const weightMap: Record<string, string> = {}
  for (let s = 0; s < shards; s++) {
    const file = `model-0000${s + 1}-of-0000${shards}.safetensors`
    const part: Tensors = {}
    names.forEach((n, i) => {
      if (i % shards === s) {
        part[n] = tensors[n]
        weightMap[n] = file
      }
    })
    await writeSafetensors(path.join(dir, file), part, MLX_FILE)
  }
  await writeFile(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap })
  )
  return dir
}

function q(bits: number, group = 64, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const quantization = { group_size: group, bits, mode: 'affine', ...extra }
  return { model_type: 'llama', quantization, quantization_config: quantization }
}

describe('readModelConfig', () => {
  it('reads global and per-layer quantization', async () => {
    const dir = await makeModel(
      {},
      q(4, 64, { lm_head: { group_size: 64, bits: 8 }, 'model.embed_tokens': false })
    )
    const cfg = await readModelConfig(dir)
    expect(cfg.modelType).toBe('llama')
    expect(cfg.quantization).toEqual({ bits: 4, groupSize: 64, mode: 'affine' })
    expect(cfg.layerBits).toEqual(
      new Map<string, number | false>([
        ['lm_head', 8],
        ['model.embed_tokens', false]
      ])
    )
    expect(cfg.layerGroupSizes.get('lm_head')).toBe(64)
    expect(cfg.raw.model_type).toBe('llama')
  })

  it('falls back to quantization_config and defaults mode to affine', async () => {
    const dir = await makeModel({}, { quantization_config: { bits: 8, group_size: 32 } })
    const cfg = await readModelConfig(dir)
    expect(cfg.quantization).toEqual({ bits: 8, groupSize: 32, mode: 'affine' })
    expect(cfg.modelType).toBeNull()
  })

  it('reports no quantization for a float model', async () => {
    const dir = await makeModel({}, { model_type: 'granitemoehybrid', torch_dtype: 'bfloat16' })
    const cfg = await readModelConfig(dir)
    expect(cfg.quantization).toEqual({ bits: null, groupSize: null, mode: null })
    expect(cfg.layerBits.size).toBe(0)
  })

  it('names a missing or unparseable config.json', async () => {
    const missing = await makeModel({}, null)
    const err = await rejection(readModelConfig(missing))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toContain(path.join(missing, 'config.json'))
    expect(err.message).toContain('ENOENT')

    const broken = await makeModel({}, '{"model_type": "llama",')
    const err2 = await rejection(readModelConfig(broken))
    expect(err2.message).toBe(
      `${path.join(broken, 'config.json')} is not valid JSON; restore the model's original config.json.`
    )
    const list = await makeModel({}, '[1, 2]')
    expect((await rejection(readModelConfig(list))).message).toContain(
      'does not hold a JSON object'
    )
  })
})

describe('checkRemoteCode', () => {
  // No released mlx-lm reads MLX_LM_TRUST_REMOTE_CODE (ml-explore/mlx-lm commit 76430f63 removed
  // it before the --trust-remote-code change bfa25a16 merged): only the input is consent.
  it('takes the trust-remote-code input as consent, and MLX_LM_TRUST_REMOTE_CODE not', async () => {
    const cfg = await readModelConfig(await makeModel({}, { model_file: 'custom.py' }))
    expect(() => checkRemoteCode(cfg, 'org/base', true, {})).not.toThrow()
    expect(() => checkRemoteCode(cfg, 'org/base', false, {})).toThrow(
      'Input base-model "org/base" has a config.json that names model_file "custom.py", Python code that mlx_lm runs to build the model; set trust-remote-code: true if you trust that code, or use a base model without it.'
    )
    const env = { MLX_LM_TRUST_REMOTE_CODE: '1' }
    expect(() => checkRemoteCode(cfg, 'org/base', false, env)).toThrow(
      'Input base-model "org/base" has a config.json that names model_file "custom.py", Python code that mlx_lm runs to build the model; set trust-remote-code: true if you trust that code (MLX_LM_TRUST_REMOTE_CODE is read by no released mlx-lm and is not consent), or use a base model without it.'
    )
  })

  it('lets a base without model_file through', async () => {
    const cfg = await readModelConfig(await makeModel({}, { model_type: 'llama' }))
    expect(() => checkRemoteCode(cfg, 'org/base', false, {})).not.toThrow()
  })
})

describe('inspectWeights', () => {
  it('counts a bf16 model exactly', async () => {
    const dir = await makeModel(floatModel('BF16'), { model_type: 'llama' })
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.quantized).toBe(false)
    expect(stats.floatDtype).toBe('BF16')
    expect(stats.tensorBytes).toBe(TOTAL * 2)
    expect(stats.bytesByDtype).toEqual({ BF16: TOTAL * 2 })
    expect(stats.fileBytes).toBe((await stat(stats.files[0])).size)
    expect(stats.notes).toEqual([])
    const cfg = await readModelConfig(dir)
    expect(describePrecision(cfg.quantization, stats, cfg.layerBits)).toBe(
      'bfloat16 (not quantized)'
    )
    expect(bitsPerWeight(stats.tensorBytes, stats.parameters)).toBe(16)
  })

  it('names float16 and float32 models, the widest float winning', async () => {
    const f16 = await inspectWeights(await makeModel(floatModel('F16'), {}))
    expect(describePrecision({ bits: null, groupSize: null, mode: null }, f16, new Map())).toBe(
      'float16 (not quantized)'
    )
    const mixed = {
      ...floatModel('BF16'),
      ...dense('model.norm.weight', [H], 'F32')
    }
    const f32 = await inspectWeights(await makeModel(mixed, {}))
    expect(f32.floatDtype).toBe('F32')
    expect(f32.parameters).toBe(TOTAL)
    expect(describePrecision({ bits: null, groupSize: null, mode: null }, f32, new Map())).toBe(
      'float32 (not quantized)'
    )
  })

  it('counts one 4-bit [256 x 256] Linear as 65,536 parameters at 4.5 bits per weight', async () => {
    const dir = await makeModel(packed('layer', 256, 256, 4), q(4))
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(65_536)
    expect(stats.quantized).toBe(true)
    expect(stats.floatDtype).toBe('BF16')
    expect(stats.bytesByDtype).toEqual({ U32: 32_768, BF16: 4_096 })
    expect(stats.tensorBytes).toBe(36_864)
    expect(bitsPerWeight(stats.tensorBytes, stats.parameters)).toBe(4.5)
    expect(estimateQuantizedBytes(65_536, 4, 64)).toBe(36_864)
  })

  it('counts a 4-bit group-64 model with lm_head 8-bit from a per-layer entry', async () => {
    const tensors = quantModel(4, packed('lm_head', V, H, 8))
    const cfg = q(4, 64, { lm_head: { group_size: 64, bits: 8 } })
    const dir = await makeModel(tensors, cfg)
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.packedParameters).toBe(TOTAL - PARAMS.norms)
    expect(stats.packedLayers.get('lm_head')).toEqual({
      bits: 8,
      groupSize: 64,
      parameters: V * H
    })
    expect(stats.packedLayers.get('model.layers.0.mlp.down_proj')?.bits).toBe(4)
    expect(stats.notes).toEqual([])
    const config = await readModelConfig(dir)
    expect(describePrecision(config.quantization, stats, config.layerBits)).toBe(
      '4-bit affine, group 64 (lm_head 8-bit)'
    )
    // Without the per-layer entry the shapes still tell lm_head is 8-bit, with a note.
    const noEntry = await makeModel(tensors, q(4))
    const s2 = await inspectWeights(noEntry)
    expect(s2.parameters).toBe(TOTAL)
    expect(s2.notes).toEqual([
      'Layer lm_head is 8-bit group 64 by the tensor shapes although config.json says 4-bit group 64: counted by the shapes.'
    ])
    const c2 = await readModelConfig(noEntry)
    expect(describePrecision(c2.quantization, s2, c2.layerBits)).toBe(
      '4-bit affine, group 64 (lm_head 8-bit)'
    )
    // From config alone (plain WeightStats), the per-layer entry is used.
    const plain: WeightStats = { ...stats }
    delete (plain as Partial<typeof stats>).packedLayers
    expect(describePrecision(config.quantization, plain, config.layerBits)).toBe(
      '4-bit affine, group 64 (lm_head 8-bit)'
    )
  })

  it.each([2, 3, 5, 6, 8])('counts %i-bit byte-stream packing exactly', async bits => {
    const dir = await makeModel(quantModel(bits), q(bits))
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.notes).toEqual([])
    expect(stats.bytesByDtype.U32).toBe(((TOTAL - PARAMS.norms) * bits) / 8)
    const cfg = await readModelConfig(dir)
    expect(describePrecision(cfg.quantization, stats, cfg.layerBits)).toBe(
      `${bits}-bit affine, group 64`
    )
    // 3-bit [256 x 256]: 24 U32 columns; 6-bit: 48.
    const qp = await makeModel(packed('x', 256, 256, bits), q(bits))
    const s = await inspectWeights(qp)
    expect(s.parameters).toBe(65_536)
    expect(s.bytesByDtype.U32).toBe(256 * ((256 * bits) / 32) * 4)
  })

  it('counts a layer left float by a `false` per-layer entry', async () => {
    const tensors = quantModel(4, dense('lm_head.weight', [V, H]))
    const dir = await makeModel(tensors, q(4, 64, { lm_head: false }))
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.packedLayers.has('lm_head')).toBe(false)
    expect(stats.floatDtype).toBe('BF16')
    const cfg = await readModelConfig(dir)
    expect(cfg.layerBits.get('lm_head')).toBe(false)
    expect(describePrecision(cfg.quantization, stats, cfg.layerBits)).toBe(
      '4-bit affine, group 64 (lm_head not quantized)'
    )
  })

  it('describes mixed recipes by the main bit width', async () => {
    const tensors = {
      ...quantModel(3),
      ...packed('model.layers.0.mlp.down_proj', H, I, 6),
      ...packed('lm_head', V, H, 6),
      ...packed('model.embed_tokens', V, H, 6)
    }
    const dir = await makeModel(
      tensors,
      q(3, 64, {
        lm_head: { bits: 6, group_size: 64 },
        'model.embed_tokens': { bits: 6, group_size: 64 },
        'model.layers.0.mlp.down_proj': { bits: 6, group_size: 64 },
        'model.layers.0.mlp.up_proj': { bits: 3, group_size: 64 }
      })
    )
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.notes).toEqual([])
    const cfg = await readModelConfig(dir)
    expect(describePrecision(cfg.quantization, stats, cfg.layerBits)).toBe(
      '3-bit affine, group 64 (3 layers 6-bit)'
    )
  })

  it('reads a sharded model through its index, siblings split across shards', async () => {
    const tensors = quantModel(4)
    const one = await inspectWeights(await makeModel(tensors, q(4)))
    const dir = await makeModel(tensors, q(4), 3)
    const stats = await inspectWeights(dir)
    expect(stats.files).toHaveLength(3)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.tensorBytes).toBe(one.tensorBytes)
    expect(stats.bytesByDtype).toEqual(one.bytesByDtype)
    let sizes = 0
    for (const f of stats.files) sizes += (await stat(f)).size
    expect(stats.fileBytes).toBe(sizes)
  })

  it('fails on a missing shard and on a truncated shard, naming the file', async () => {
    const dir = await makeModel(quantModel(4), q(4), 2)
    await rm(path.join(dir, 'model-00002-of-00002.safetensors'))
    const err = await rejection(inspectWeights(dir))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toContain('model-00002-of-00002.safetensors')

    const dir2 = await makeModel(quantModel(4), q(4))
    const file = path.join(dir2, 'model.safetensors')
    await writeFile(file, Buffer.alloc(100, 1))
    const err2 = await rejection(inspectWeights(dir2))
    expect(err2.message).toContain(`${file} is truncated or not a safetensors file`)
  })

  it('trusts the shapes without config.json and says so', async () => {
    const dir = await makeModel(quantModel(4, packed('lm_head', V, H, 8)), null)
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.packedLayers.get('lm_head')?.bits).toBe(8)
    expect(stats.notes).toHaveLength(1)
    expect(stats.notes[0]).toContain('No readable config.json')
    expect(describePrecision({ bits: null, groupSize: null, mode: null }, stats, new Map())).toBe(
      '4-bit affine, group 64 (lm_head 8-bit)'
    )
  })

  it('tells 4-bit group 32 from 2-bit group 64 without config.json by the other dimensions', async () => {
    const stats = await inspectWeights(await makeModel(quantModel(4, null, 32), null))
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.packedLayers.get('model.layers.0.mlp.down_proj')).toEqual({
      bits: 4,
      groupSize: 32,
      parameters: H * I
    })
    const two = await inspectWeights(await makeModel(quantModel(2), null))
    expect(two.parameters).toBe(TOTAL)
    expect(two.packedLayers.get('lm_head')?.bits).toBe(2)
  })

  it('takes the group size from the shapes when config.json lacks it', async () => {
    const dir = await makeModel(quantModel(4, null, 32), { quantization: { bits: 4 } })
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(TOTAL)
    expect(stats.packedLayers.get('lm_head')).toEqual({ bits: 4, groupSize: 32, parameters: V * H })
    expect(stats.notes).toEqual([])
  })

  it('handles mxfp4 (U8 scales, no biases): floatDtype from the float tensors', async () => {
    const tensors: Tensors = {
      ...packed('a', 256, 256, 4, 32, 'U8', false),
      ...dense('norm.weight', [256])
    }
    const dir = await makeModel(tensors, {
      quantization: { bits: 4, group_size: 32, mode: 'mxfp4' }
    })
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(65_536 + 256)
    expect(stats.floatDtype).toBe('BF16')
    const cfg = await readModelConfig(dir)
    expect(describePrecision(cfg.quantization, stats, cfg.layerBits)).toBe('4-bit mxfp4, group 32')
  })

  it('counts a U32 tensor without scales as plain elements', async () => {
    const dir = await makeModel({ ...dense('ids.weight', [10, 4], 'U32') }, {})
    const stats = await inspectWeights(dir)
    expect(stats.parameters).toBe(40)
    expect(stats.quantized).toBe(false)
    expect(stats.floatDtype).toBeNull()
  })

  it('refuses a packed weight no bit width fits', async () => {
    const tensors: Tensors = {
      'odd.weight': { dtype: 'U32', shape: [8, 7] },
      'odd.scales': { dtype: 'BF16', shape: [8, 3] }
    }
    const dir = await makeModel(tensors, {})
    const err = await rejection(inspectWeights(dir))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toMatch(
      /^Cannot tell the bit width of packed weight odd\.weight in .*model\.safetensors/
    )
  })
})

describe('describePrecision', () => {
  it('says when config.json declares bits the weights do not have', () => {
    const stats: WeightStats = {
      parameters: 10,
      bytesByDtype: { BF16: 20 },
      tensorBytes: 20,
      quantized: false,
      floatDtype: 'BF16'
    }
    expect(describePrecision({ bits: 4, groupSize: 64, mode: 'affine' }, stats, new Map())).toBe(
      'bfloat16 (not quantized, although config.json declares 4-bit)'
    )
  })
})

describe('size estimates', () => {
  it('estimates an affine quantization as packed bits plus scales and biases', () => {
    expect(estimateQuantizedBytes(3_000_000_000, 4, 64)).toBe(1_687_500_000)
    expect(estimateQuantizedBytes(1000, 3, 64, 4)).toBe(375 + 2 * 16 * 4)
    // Microscaling modes: one U8 scale a group, no biases.
    expect(estimateQuantizedBytes(3200, 4, 32, 2, 'mxfp4')).toBe(1600 + 100)
    expect(estimateQuantizedBytes(3200, 4, 16, 2, 'nvfp4')).toBe(1600 + 200)
    expect(() => estimateQuantizedBytes(100, 0, 64)).toThrow(ActionError)
    expect(() => estimateQuantizedBytes(-1, 4, 64)).toThrow(ActionError)
  })

  it('estimates the de-quantized size as the float model takes it exactly', async () => {
    const quant = await inspectWeights(await makeModel(quantModel(4), q(4)))
    const float = await inspectWeights(await makeModel(floatModel('BF16'), {}))
    expect(estimateFullPrecisionBytes(quant)).toBe(float.tensorBytes)
    expect(estimateFullPrecisionBytes(float)).toBe(float.tensorBytes)
    expect(estimateFullPrecisionBytes(quant, 4)).toBe((TOTAL - PARAMS.norms) * 4 + PARAMS.norms * 2)
    // Only the totals it reads: every packed parameter at 2 bytes, the rest as stored.
    const totals = {
      quantized: true,
      tensorBytes: 1000,
      packedParameters: 400,
      packedBytes: 300
    }
    expect(estimateFullPrecisionBytes(totals)).toBe(400 * 2 + (1000 - 300))
  })

  it('gives bits per weight, null without parameters', () => {
    expect(bitsPerWeight(1000, 0)).toBeNull()
    expect(bitsPerWeight(9, 16)).toBe(4.5)
  })
})
