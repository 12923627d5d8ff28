import { describe, expect, it, beforeAll } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { validateAdapters } from '../src/mlx/adapters.js'

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'adapters-'))
})

async function adapterDir(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'a-'))
  for (const [name, content] of Object.entries(files))
    await fs.writeFile(path.join(dir, name), content)
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
      'adapters.safetensors': 'x'.repeat(42)
    })
    expect(await validateAdapters(dir)).toEqual({
      dir,
      fineTuneType: 'lora',
      numLayers: 16,
      rank: 8,
      scale: 20,
      keys: ['self_attn.q_proj'],
      weightsBytes: 42
    })
  })

  it('defaults fine_tune_type to lora like mlx_lm', async () => {
    const cfg = JSON.parse(config())
    delete cfg.fine_tune_type
    const dir = await adapterDir({
      'adapter_config.json': JSON.stringify(cfg),
      'adapters.safetensors': 'x'
    })
    expect((await validateAdapters(dir)).fineTuneType).toBe('lora')
  })

  it('needs neither num_layers nor lora_parameters for a full fine-tune', async () => {
    const dir = await adapterDir({
      'adapter_config.json': JSON.stringify({ fine_tune_type: 'full' }),
      'adapters.safetensors': 'x'
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
      /adapters\.safetensors does not exist: only numbered checkpoints exist; the newest is 0001000_adapters\.safetensors/
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
