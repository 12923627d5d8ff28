import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { convertLoraToGguf } from '../../src/gguf/convert-lora.js'
import { planPeft, transpose, writePeftFolder } from '../../src/gguf/peft.js'
import type { AdapterInfo } from '../../src/mlx/adapters.js'
import { readSafetensorsHeader, type SafetensorsHeader } from '../../src/mlx/safetensors.js'
import { writeSafetensors } from '../fixtures/safetensors.js'

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

describe('writePeftFolder', () => {
  it('transposes a matrix element by element', () => {
    const m = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) // 2×3
    expect([...new Float32Array(transpose(m, 2, 3, 4).buffer)]).toEqual([1, 4, 2, 5, 3, 6])
  })

  it('writes adapter_model.safetensors with every pair transposed and the plan as adapter_config.json', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peft-'))
    const adapters = path.join(dir, 'adapters.safetensors')
    await writeSafetensors(
      adapters,
      {
        'model.layers.0.self_attn.q_proj.lora_a': { dtype: 'F32', shape: [6, 2] },
        'model.layers.0.self_attn.q_proj.lora_b': { dtype: 'F16', shape: [2, 3] }
      },
      { random: true }
    )
    const header = await readSafetensorsHeader(adapters)
    const plan = planPeft(info({ dir, rank: 2, scale: 10 }), header, 'org/base')
    const out = path.join(dir, 'peft')
    await fs.mkdir(out)
    await writePeftFolder(out, plan, adapters, header)

    expect(JSON.parse(await fs.readFile(path.join(out, 'adapter_config.json'), 'utf8'))).toEqual(
      plan.config
    )
    const written = path.join(out, 'adapter_model.safetensors')
    const peft = await readSafetensorsHeader(written)
    const src = await fs.readFile(adapters)
    const dst = await fs.readFile(written)
    const bytesOf = (file: Buffer, h: SafetensorsHeader, name: string): Buffer => {
      const [begin, end] = h.tensors[name].dataOffsets
      return file.subarray(8 + h.headerBytes + begin, 8 + h.headerBytes + end)
    }
    const a = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'
    const b = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight'
    expect(peft.tensors[a]).toMatchObject({ dtype: 'F32', shape: [2, 6] })
    expect(peft.tensors[b]).toMatchObject({ dtype: 'F16', shape: [3, 2] })
    // Element [i][j] of lora_A is element [j][i] of MLX's lora_a.
    const mlxA = new Float32Array(
      Uint8Array.from(bytesOf(src, header, 'model.layers.0.self_attn.q_proj.lora_a')).buffer
    )
    const peftA = new Float32Array(Uint8Array.from(bytesOf(dst, peft, a)).buffer)
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 6; j++) expect(peftA[i * 6 + j]).toBe(mlxA[j * 2 + i])
    const mlxB = bytesOf(src, header, 'model.layers.0.self_attn.q_proj.lora_b')
    const peftB = bytesOf(dst, peft, b)
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        expect(peftB.readUInt16LE((i * 2 + j) * 2)).toBe(mlxB.readUInt16LE((j * 3 + i) * 2))
      }
    }
    // Never over a file already there.
    await expect(writePeftFolder(out, plan, adapters, header)).rejects.toThrow(/EEXIST/)
  })
})

describe('convertLoraToGguf', () => {
  it('refuses a llama.cpp checkout without convert_lora_to_gguf.py before starting anything', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peft-convert-'))
    const script = path.join(dir, 'convert_lora_to_gguf.py')
    await expect(
      convertLoraToGguf({
        python: 'python3',
        script,
        peftDir: dir,
        baseDir: dir,
        outFile: path.join(dir, 'adapter.gguf'),
        outType: 'f16'
      })
    ).rejects.toThrow(
      `The llama.cpp checkout has no ${script}; set llama-cpp-dir to a llama.cpp source checkout that contains convert_lora_to_gguf.py, or set gguf-adapter to false.`
    )
  })
})
