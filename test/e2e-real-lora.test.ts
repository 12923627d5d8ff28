/**
 * A LoRA-only GGUF for real (issue 19): adapters from the real `mlx_lm lora` are written as a PEFT
 * folder, converted by llama.cpp's real convert_lora_to_gguf.py against the base, and loaded by the
 * real llama-completion with `--lora` on the base's own GGUF (converted by the real
 * convert_hf_to_gguf.py).
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { gguf } from '@huggingface/gguf'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { convertToGguf } from '../src/gguf/convert.js'
import { convertLoraToGguf } from '../src/gguf/convert-lora.js'
import { planPeft, writePeftFolder } from '../src/gguf/peft.js'
import { smokeTest } from '../src/gguf/smoke.js'
import { validateAdapters } from '../src/mlx/adapters.js'
import { readSafetensorsHeader } from '../src/mlx/safetensors.js'
import { realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import { convertPython, realAdapters, realModel } from './fixtures/real.js'

const llama = realLlamaCpp()
let work: string
let base: string
let baseGguf: string
let loraGguf: string
let pairs: number

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'real-lora-'))
  base = (await realModel('llama', 'bf16')).dir
  const adapters = (await realAdapters('llama', 'bf16', 'lora')).dir
  baseGguf = path.join(work, 'base-f16.gguf')
  await convertToGguf({
    python: convertPython(),
    script: llama.convertScript,
    modelDir: base,
    outFile: baseGguf,
    outType: 'f16'
  })
  const info = await validateAdapters(adapters, base)
  const file = path.join(adapters, 'adapters.safetensors')
  const header = await readSafetensorsHeader(file)
  const plan = planPeft(info, header, base)
  pairs = plan.tensors.length / 2
  const peft = path.join(work, 'peft')
  await fs.mkdir(peft)
  await writePeftFolder(peft, plan, file, header)
  loraGguf = path.join(work, 'adapter-f16.gguf')
  await convertLoraToGguf({
    python: convertPython(),
    script: path.join(llama.dir, 'convert_lora_to_gguf.py'),
    peftDir: peft,
    baseDir: base,
    outFile: loraGguf,
    outType: 'f16'
  })
}, 900_000)

describe('gguf-adapter with the real tools', () => {
  it('writes a LoRA GGUF: every pair as llama.cpp names it, lora_alpha = scale × rank', async () => {
    const read = await gguf(loraGguf, { allowLocalFile: true })
    const metadata = read.metadata as Record<string, unknown>
    const tensorInfos = read.tensorInfos
    expect(metadata['general.type']).toBe('adapter')
    expect(metadata['adapter.type']).toBe('lora')
    expect(metadata['adapter.lora.alpha']).toBe(20 * 8)
    const names = tensorInfos.map(t => t.name)
    expect(names).toHaveLength(2 * pairs)
    expect(names).toContain('blk.0.attn_q.weight.lora_a')
    expect(names).toContain('blk.1.ffn_down.weight.lora_b')
  })

  it('loads with the base GGUF: llama-completion generates, and not what the base alone does', async () => {
    const alone = await smokeTest({ bin: llama.completion, model: baseGguf, tokens: 8 })
    const withLora = await smokeTest({
      bin: llama.completion,
      model: baseGguf,
      lora: loraGguf,
      tokens: 8
    })
    expect(alone.exitCode).toBe(0)
    expect(withLora.exitCode).toBe(0)
    // Greedy decoding of the same prompt: only the applied adapter can change the text.
    expect(alone.text).not.toBe('')
    expect(withLora.text).not.toBe('')
    expect(withLora.text).not.toBe(alone.text)
  }, 600_000)
})
