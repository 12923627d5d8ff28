import { describe, expect, it, beforeAll } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { validateAdapters } from '../../src/mlx/adapters.js'
import { writeSafetensors, type TensorSpec } from '../fixtures/safetensors.js'
import { makeAdapters, makeTinyModel } from '../fixtures/tiny.js'

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'adapters-'))
})

/** A real (tiny) adapters.safetensors: one LoRA pair of rank 8. */
const LORA: Record<string, TensorSpec> = {
  'model.layers.0.self_attn.q_proj.lora_a': { dtype: 'F32', shape: [16, 8] },
  'model.layers.0.self_attn.q_proj.lora_b': { dtype: 'F32', shape: [8, 16] }
}

async function adapterDir(
  files: Record<string, string | Buffer | Record<string, TensorSpec>>
): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'a-'))
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    if (typeof content === 'string' || Buffer.isBuffer(content)) await fs.writeFile(file, content)
    else await writeSafetensors(file, content)
  }
  return dir
}

const config = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    fine_tune_type: 'lora',
    num_layers: 16,
    lora_parameters: { rank: 8, scale: 20, dropout: 0, keys: ['self_attn.q_proj'] },
    ...extra
  })

describe('validateAdapters', () => {
  it('reads a directory written by mlx_lm.lora', async () => {
    const dir = await adapterDir({
      'adapter_config.json': config(),
      'adapters.safetensors': LORA
    })
    expect(await validateAdapters(dir)).toEqual({
      dir,
      fineTuneType: 'lora',
      numLayers: 16,
      rank: 8,
      scale: 20,
      keys: ['self_attn.q_proj'],
      weightsBytes: (await fs.stat(path.join(dir, 'adapters.safetensors'))).size
    })
  })

  it('defaults fine_tune_type to lora like mlx_lm', async () => {
    const cfg = JSON.parse(config())
    delete cfg.fine_tune_type
    const dir = await adapterDir({
      'adapter_config.json': JSON.stringify(cfg),
      'adapters.safetensors': LORA
    })
    expect((await validateAdapters(dir)).fineTuneType).toBe('lora')
  })

  it('needs neither num_layers nor lora_parameters for a full fine-tune', async () => {
    const dir = await adapterDir({
      'adapter_config.json': JSON.stringify({ fine_tune_type: 'full' }),
      'adapters.safetensors': LORA
    })
    expect((await validateAdapters(dir)).fineTuneType).toBe('full')
  })

  it('names the newest checkpoint when only numbered ones exist', async () => {
    const dir = await adapterDir({
      'adapter_config.json': config(),
      '0000100_adapters.safetensors': 'x',
      '0001000_adapters.safetensors': 'x',
      '0000200_adapters.safetensors': 'x'
    })
    await expect(validateAdapters(dir)).rejects.toThrow(
      /adapters\.safetensors does not exist, only numbered checkpoints \(the newest is 0001000_adapters\.safetensors\); copy 0001000_adapters\.safetensors to adapters\.safetensors to fuse it/
    )
  })

  it.each([
    ['a missing directory', null, /is not a directory/],
    ['no adapter_config.json', { 'adapters.safetensors': 'x' }, /has no adapter_config\.json/],
    ['a config that is not JSON', { 'adapter_config.json': '{oops' }, /is not a JSON object/],
    ['a config that is an array', { 'adapter_config.json': '[]' }, /is not a JSON object/],
    [
      'an old mlx-lm config',
      { 'adapter_config.json': JSON.stringify({ lora_layers: 16, use_dora: false }) },
      /old mlx-lm .*rename "lora_layers" to "num_layers"/
    ],
    [
      'an unknown fine_tune_type',
      { 'adapter_config.json': config({ fine_tune_type: 'qlora' }) },
      /fine_tune_type "qlora"; mlx_lm fuse accepts lora, dora or full/
    ],
    ['no weights at all', { 'adapter_config.json': config() }, /let mlx_lm\.lora finish training/],
    [
      'a lora config without num_layers',
      { 'adapter_config.json': config({ num_layers: undefined }) },
      /has no numeric "num_layers", which mlx_lm fuse needs .*mlx-lm 0\.19 and newer.*add "num_layers"/
    ],
    [
      'a dora config without lora_parameters',
      { 'adapter_config.json': config({ fine_tune_type: 'dora', lora_parameters: undefined }) },
      /has no "lora_parameters" object, which mlx_lm fuse needs/
    ],
    [
      'lora_parameters without a scale',
      { 'adapter_config.json': config({ lora_parameters: { rank: 8, dropout: 0 } }) },
      /has no numeric "lora_parameters\.scale", which mlx_lm fuse reads/
    ]
  ])('refuses %s', async (_what, files, message) => {
    const dir = files ? await adapterDir(files) : path.join(root, 'missing')
    await expect(validateAdapters(dir)).rejects.toThrow(message)
  })
})

/** The 8-byte little-endian header length followed by `header`. */
function rawSafetensors(declared: number, header: string, extra = ''): Buffer {
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(declared))
  return Buffer.concat([prefix, Buffer.from(header), Buffer.from(extra)])
}

describe('corrupt adapters are refused before the fuse (issue 6)', () => {
  const good = JSON.stringify({
    'a.lora_a': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }
  })
  it.each([
    ['empty', Buffer.alloc(0), /0 bytes, shorter than the 8-byte header length/],
    [
      'truncated',
      rawSafetensors(good.length, good, 'x'.repeat(10)),
      /82 bytes on disk, the header describes 88/
    ],
    [
      'header length past the file',
      rawSafetensors(4096, good),
      /header length 4096 bytes but the file has only/
    ],
    ['header not JSON', rawSafetensors(9, '{"a.lora_'), /the header is not valid JSON/],
    ['no tensors', rawSafetensors(2, '{}'), /holds no tensors/],
    [
      'lora_a and lora_b of different ranks',
      {
        'l.lora_a': { dtype: 'F32', shape: [16, 8] },
        'l.lora_b': { dtype: 'F32', shape: [4, 16] }
      },
      /has l\.lora_a of rank 8 but lora_b of rank 4, so it is damaged or mixes two trainings/
    ],
    [
      'a lora_a without its lora_b',
      { 'l.lora_a': { dtype: 'F32', shape: [16, 8] } },
      /has l\.lora_a without its lora_b/
    ]
  ] as Array<[string, Buffer | Record<string, TensorSpec>, RegExp]>)(
    '%s',
    async (_what, content, why) => {
      const dir = await adapterDir({
        'adapter_config.json': config(),
        'adapters.safetensors': content
      })
      const promise = validateAdapters(dir)
      await expect(promise).rejects.toThrow(why)
      await expect(promise).rejects.toThrow(
        new RegExp(
          `^${path.join(dir, 'adapters.safetensors').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`
        )
      )
      await expect(promise).rejects.toThrow(
        /copy a complete checkpoint .* over it, or train again\.$/
      )
    }
  )
})

describe('adapters trained for another model are refused, naming the first mismatch (issue 6)', () => {
  let bf16: string
  let q4: string
  let wide: string
  let deep: string
  beforeAll(async () => {
    ;[bf16, q4, wide, deep] = await Promise.all([
      makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' }),
      makeTinyModel(path.join(root, 'base-q4'), { bits: 4, groupSize: 32 }),
      makeTinyModel(path.join(root, 'base-wide'), {
        dtype: 'bf16',
        hidden: 128,
        heads: 4,
        kvHeads: 2
      }),
      makeTinyModel(path.join(root, 'base-deep'), { dtype: 'bf16', layers: 4 })
    ])
  }, 60_000)

  it('accepts adapters on the model they were made for, float or quantized', async () => {
    const lora = await makeAdapters(path.join(root, 'ad-bf16'), bf16, { rank: 8 })
    await expect(validateAdapters(lora, bf16)).resolves.toMatchObject({ rank: 8 })
    // The packed U32 weight unpacks to the same input size: 4-bit group 32.
    await expect(validateAdapters(lora, q4)).resolves.toMatchObject({ rank: 8 })
    const dora = await makeAdapters(path.join(root, 'ad-dora'), bf16, { fineTuneType: 'dora' })
    await expect(validateAdapters(dora, bf16)).resolves.toMatchObject({ fineTuneType: 'dora' })
    const full = await makeAdapters(path.join(root, 'ad-full'), bf16, { fineTuneType: 'full' })
    await expect(validateAdapters(full, bf16)).resolves.toMatchObject({ fineTuneType: 'full' })
  })

  it('refuses adapters whose shapes the base lacks (another hidden size), float or quantized', async () => {
    const lora = await makeAdapters(path.join(root, 'ad-wide'), wide, { rank: 8 })
    for (const base of [bf16, q4]) {
      await expect(validateAdapters(lora, base)).rejects.toThrow(
        /adapters\.safetensors has model\.layers\.\d+\.self_attn\.q_proj\.lora_a with shape \[128, 8\], but for the base model's model\.layers\.\d+\.self_attn\.q_proj \(\w+ \[\d+, \d+\]\) it must be 256 x rank; these adapters were trained for another model/
      )
    }
    const full = await makeAdapters(path.join(root, 'ad-wide-full'), wide, { fineTuneType: 'full' })
    await expect(validateAdapters(full, bf16)).rejects.toThrow(
      /holds model\.layers\.\d+\.self_attn\.q_proj\.weight with shape \[128, 128\] but the base model's is \[256, 256\]/
    )
  })

  it('refuses adapters for layers the base does not have', async () => {
    const lora = await makeAdapters(path.join(root, 'ad-deep'), deep, { rank: 8, numLayers: 4 })
    await expect(validateAdapters(lora, bf16)).rejects.toThrow(
      /adapts model\.layers\.[0-3]\.self_attn\.q_proj, which the base model .* has not \(no tensor model\.layers\.[0-3]\.self_attn\.q_proj\.weight\); these adapters were trained for another model; point base-model at the model they were trained on/
    )
  })
})

/**
 * Mixture-of-experts adapters, as mlx_lm.lora writes them for LoRASwitchLinear: lora_a
 * [experts, rank, in], lora_b [experts, out, rank] (ml-explore/mlx-lm v0.32.2
 * mlx_lm/tuner/lora.py). fuse accepts them against a base in MLX layout (stacked `switch_mlp`)
 * and in Hugging Face layout (per-expert tensors, which mlx_lm's sanitize stacks on load).
 */
describe('mixture-of-experts adapters, against a base in either layout (issue 15)', () => {
  const E = 4
  const H = 64
  const I = 32
  const R = 8
  const projections: Array<[string, string, number, number]> = [
    // MLX name, Mixtral's Hugging Face name, out, in
    ['gate_proj', 'w1', I, H],
    ['down_proj', 'w2', H, I],
    ['up_proj', 'w3', I, H]
  ]
  const block = (mixtral: boolean): string =>
    mixtral ? 'model.layers.0.block_sparse_moe' : 'model.layers.0.mlp'

  async function base(layout: 'mlx' | 'hf' | 'mlx-q4', mixtral = false): Promise<string> {
    const dir = await fs.mkdtemp(path.join(root, `moe-${layout}-`))
    const tensors: Record<string, TensorSpec> = {
      'model.layers.0.self_attn.q_proj.weight': { dtype: 'BF16', shape: [H, H] }
    }
    for (const [name, hf, out, inDim] of projections) {
      if (layout === 'hf') {
        for (let e = 0; e < E; e++) {
          const module = `${block(mixtral)}.experts.${e}.${mixtral ? hf : name}`
          tensors[`${module}.weight`] = { dtype: 'BF16', shape: [out, inDim] }
        }
      } else if (layout === 'mlx') {
        tensors[`${block(mixtral)}.switch_mlp.${name}.weight`] = {
          dtype: 'BF16',
          shape: [E, out, inDim]
        }
      } else {
        const module = `${block(mixtral)}.switch_mlp.${name}`
        tensors[`${module}.weight`] = { dtype: 'U32', shape: [E, out, (inDim * 4) / 32] }
        tensors[`${module}.scales`] = { dtype: 'BF16', shape: [E, out, inDim / 32] }
        tensors[`${module}.biases`] = { dtype: 'BF16', shape: [E, out, inDim / 32] }
      }
    }
    const quantization = layout === 'mlx-q4' ? { bits: 4, group_size: 32, mode: 'affine' } : null
    const cfg = { model_type: mixtral ? 'mixtral' : 'qwen3_moe', quantization }
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(cfg))
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors)
    return dir
  }

  function switchLora(mixtral = false, inDims = H): Record<string, TensorSpec> {
    const t: Record<string, TensorSpec> = {}
    for (const [name, , out, inDim] of projections) {
      const module = `${block(mixtral)}.switch_mlp.${name}`
      const input = name === 'down_proj' ? inDim : inDims
      t[`${module}.lora_a`] = { dtype: 'F32', shape: [E, R, input] }
      t[`${module}.lora_b`] = { dtype: 'F32', shape: [E, out, R] }
    }
    return t
  }

  const keys = ['mlp.switch_mlp.gate_proj', 'mlp.switch_mlp.up_proj', 'mlp.switch_mlp.down_proj']

  it('accepts switch_mlp LoRA against stacked, per-expert and quantized stacked bases', async () => {
    const adapters = await adapterDir({
      'adapter_config.json': config({ lora_parameters: { rank: R, scale: 20, dropout: 0, keys } }),
      'adapters.safetensors': switchLora()
    })
    for (const layout of ['mlx', 'hf', 'mlx-q4'] as const) {
      await expect(validateAdapters(adapters, await base(layout))).resolves.toMatchObject({
        rank: R
      })
    }
    const mixtral = await adapterDir({
      'adapter_config.json': config(),
      'adapters.safetensors': switchLora(true)
    })
    await expect(validateAdapters(mixtral, await base('hf', true))).resolves.toMatchObject({
      rank: R
    })
  })

  it('refuses switch_mlp LoRA of another width, naming the per-expert base tensor', async () => {
    const adapters = await adapterDir({
      'adapter_config.json': config(),
      'adapters.safetensors': switchLora(false, 2 * H)
    })
    for (const layout of ['mlx', 'hf', 'mlx-q4'] as const) {
      await expect(validateAdapters(adapters, await base(layout))).rejects.toThrow(
        /adapters\.safetensors has model\.layers\.0\.mlp\.switch_mlp\.(gate|up)_proj\.lora_a with shape \[4, 8, 128\], but for the base model's model\.layers\.0\.mlp\.switch_mlp\.(gate|up)_proj \((BF16|U32) \[4, 32, \d+\]\) it must be 4 x rank x 64; these adapters were trained for another model/
      )
    }
  })

  it('accepts a full fine-tune of stacked experts against a per-expert base', async () => {
    const full: Record<string, TensorSpec> = {}
    for (const [name, , out, inDim] of projections) {
      full[`model.layers.0.mlp.switch_mlp.${name}.weight`] = {
        dtype: 'BF16',
        shape: [E, out, inDim]
      }
    }
    const adapters = await adapterDir({
      'adapter_config.json': JSON.stringify({ fine_tune_type: 'full' }),
      'adapters.safetensors': full
    })
    await expect(validateAdapters(adapters, await base('hf'))).resolves.toMatchObject({
      fineTuneType: 'full'
    })
    const wrong = await adapterDir({
      'adapter_config.json': JSON.stringify({ fine_tune_type: 'full' }),
      'adapters.safetensors': {
        'model.layers.0.mlp.switch_mlp.up_proj.weight': { dtype: 'BF16', shape: [E + 1, I, H] }
      }
    })
    await expect(validateAdapters(wrong, await base('hf'))).rejects.toThrow(
      /holds model\.layers\.0\.mlp\.switch_mlp\.up_proj\.weight with shape \[5, 32, 64\] but the base model's is \[4, 32, 64\]/
    )
  })
})
