import { describe, expect, it } from '@jest/globals'
import { planPeft } from '../src/gguf/peft.js'
import type { AdapterInfo } from '../src/mlx/adapters.js'
import type { SafetensorsHeader } from '../src/mlx/safetensors.js'

const info = (extra: Partial<AdapterInfo> = {}): AdapterInfo => ({
  dir: 'adapters',
  fineTuneType: 'lora',
  numLayers: 2,
  rank: 8,
  scale: 20,
  keys: null,
  weightsBytes: 1,
  ...extra
})

const header = (tensors: Record<string, number[]>): SafetensorsHeader => ({
  headerBytes: 0,
  metadata: {},
  tensors: Object.fromEntries(
    Object.entries(tensors).map(([k, shape]) => [
      k,
      { dtype: 'F32', shape, dataOffsets: [0, 0] as [number, number] }
    ])
  )
})

describe('planPeft', () => {
  it('maps MLX lora_a [in, r] / lora_b [r, out] to PEFT lora_A [r, in] / lora_B [out, r] with lora_alpha = scale × rank', () => {
    const plan = planPeft(
      info(),
      header({
        'model.layers.0.self_attn.q_proj.lora_a': [64, 8],
        'model.layers.0.self_attn.q_proj.lora_b': [8, 32],
        'model.layers.1.mlp.down_proj.lora_a': [128, 8],
        'model.layers.1.mlp.down_proj.lora_b': [8, 64]
      }),
      'org/base'
    )
    expect(plan.config).toEqual({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 160,
      target_modules: ['down_proj', 'q_proj'],
      base_model_name_or_path: 'org/base',
      bias: 'none',
      fan_in_fan_out: false
    })
    expect(plan.tensors).toEqual([
      {
        source: 'model.layers.0.self_attn.q_proj.lora_a',
        target: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        shape: [8, 64]
      },
      {
        source: 'model.layers.0.self_attn.q_proj.lora_b',
        target: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        shape: [32, 8]
      },
      {
        source: 'model.layers.1.mlp.down_proj.lora_a',
        target: 'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight',
        shape: [8, 128]
      },
      {
        source: 'model.layers.1.mlp.down_proj.lora_b',
        target: 'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight',
        shape: [64, 8]
      }
    ])
  })

  it('refuses DoRA and full fine-tunes in one sentence naming the input and the fix', () => {
    const pair = header({ 'x.q.lora_a': [4, 2], 'x.q.lora_b': [2, 4] })
    expect(() => planPeft(info({ fineTuneType: 'dora' }), pair, 'b')).toThrow(
      /^Input gguf-adapter is true but adapter-path "adapters" holds a DoRA fine-tune, .*set gguf-adapter to false.*\.$/
    )
    expect(() => planPeft(info({ fineTuneType: 'full' }), pair, 'b')).toThrow(
      /holds a full fine-tune, which llama\.cpp cannot apply as a LoRA adapter/
    )
  })

  it('refuses a DoRA magnitude, mixture-of-experts pairs, no pairs and a missing rank', () => {
    expect(() =>
      planPeft(info(), header({ 'x.q.lora_a': [4, 2], 'x.q.lora_b': [2, 4], 'x.q.m': [4] }), 'b')
    ).toThrow(/holds x\.q\.m, which is not a LoRA pair tensor/)
    expect(() =>
      planPeft(
        info(),
        header({
          'x.switch_mlp.up_proj.lora_a': [4, 2, 8],
          'x.switch_mlp.up_proj.lora_b': [4, 8, 2]
        }),
        'b'
      )
    ).toThrow(/of shape \[4, 2, 8\] \(a mixture-of-experts adapter\)/)
    expect(() => planPeft(info(), header({}), 'b')).toThrow(/holds no LoRA pairs/)
    expect(() =>
      planPeft(info({ rank: null }), header({ 'x.q.lora_a': [4, 2], 'x.q.lora_b': [2, 4] }), 'b')
    ).toThrow(/no numeric lora_parameters\.rank and scale/)
  })
})
