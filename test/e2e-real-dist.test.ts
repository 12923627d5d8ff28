/**
 * The bundled action (dist/index.js under Node 24, as the runner starts it) with the real tools,
 * once per supported mlx-lm version (the default 0.32.2 and the oldest, 0.28.3): a 4-bit tiny
 * llama (test/fixtures/real.ts) with real LoRA adapters, fused, fused again de-quantized,
 * converted by the real convert_hf_to_gguf.py, quantized to Q4_K_M, verified and smoke-tested.
 * Run `npm run bundle` first.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { readGgufHeader } from '../src/gguf/verify.js'
import { ROOT, runAction } from './fixtures/action.js'
import {
  DATA_DIR,
  convertPython,
  mlxOldPython,
  mlxPython,
  realAdapters,
  realModel
} from './fixtures/real.js'
import { readValidManifest } from './fixtures/manifest.js'

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!

// A 4-bit base made by mlx-lm 0.32.2 carries a transformers v5 tokenizer, which 0.28.3
// (transformers 4.x) cannot load: the oldest version fuses the Hub-style bf16 base.
describe.each([
  ['0.32.2', mlxPython, '4bit'],
  ['0.28.3', mlxOldPython, 'bf16']
] as const)('dist/index.js with the real mlx-lm %s', (version, python, variant) => {
  it(`fuses a ${variant} llama and makes a verified, loadable Q4_K_M GGUF`, async () => {
    const base = await realModel('llama', variant)
    const adapters = await realAdapters('llama', variant, 'lora')
    const r = await runAction({
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      python: python(),
      'output-dir': 'fused-model',
      gguf: 'Q4_K_M',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      // the quality step too: the bundle finds the helper in the action's python/ folder
      'eval-data': path.join(DATA_DIR, 'train.jsonl'),
      'eval-tokens': '512'
    })
    expect(r.annotations.filter(a => a.startsWith('::error'))).toEqual([])
    expect(r.code).toBe(0)
    const paths = JSON.parse(r.outputs['gguf-paths']) as Record<string, string>
    expect(Object.keys(paths)).toEqual(['Q4_K_M'])
    const h = await readGgufHeader(paths.Q4_K_M)
    expect(h.metadata['general.file_type']).toBe(15)
    expect(h.metadata['tokenizer.ggml.pre']).toBe('gpt-2')
    expect(r.stdout).toMatch(/Q4_K_M: llama\.cpp loaded fused-model-Q4_K_M\.gguf and generated/)
    const manifest = await readValidManifest(path.join(r.work, 'fused-model.manifest.json'))
    expect(manifest.status).toBe('complete')
    expect(manifest.mlxLm.version).toBe(version)
    expect(r.stdout).toContain(path.join(ROOT, 'python', 'quality_reference.py'))
    expect(manifest.quality.chunking).toMatchObject({ context: 512, scoredTokens: 255 })
    const quality = JSON.parse(r.outputs.quality) as Record<string, { meanKld: number }>
    expect(Object.keys(quality).sort()).toEqual(['Q4_K_M', 'mlx'])
    expect(quality.Q4_K_M.meanKld).toBeGreaterThan(0)
    process.stderr.write(
      `[dist quality ${version} ${variant}] ${JSON.stringify({ quality, diagnoses: manifest.diagnoses.map((d: { title: string }) => d.title) })}\n`
    )
    await fs.rm(r.work, { recursive: true, force: true })
  }, 1_800_000)
})
