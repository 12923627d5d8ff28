/**
 * The action end to end with the real tools, nothing replaced but @actions/core (in-process,
 * test/__fixtures__/core.ts): the real mlx-lm fuses a tiny real model (test/fixtures/real.ts)
 * with adapters from the real `mlx_lm lora`, fuses it again de-quantized for GGUF, the real
 * convert_hf_to_gguf.py converts it, the real llama-quantize makes Q4_K_M, each file is verified
 * against the model it came from and llama.cpp loads it and generates (smoke test).
 *
 * `npm test` runs the core set; `npm run test:matrix` (MLX_FUSE_REAL_MATRIX=1) every
 * architecture, both variants, and the DoRA and full fine-tune adapters.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as core from './__fixtures__/core.js'
import {
  mlxOldPython,
  mlxPython,
  convertPython,
  realAdapters,
  realModel,
  withoutChatTemplate,
  type AdapterKind,
  type Arch,
  type Variant
} from './fixtures/real.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../src/main.js')
const { readGgufHeader, chatFacts } = await import('../src/gguf/verify.js')
const { chatTurn, endOfTurnToken } = await import('../src/gguf/smoke.js')

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!

interface Case {
  arch: Arch
  variant: Variant
  kind: AdapterKind
  mlx: 'default' | 'oldest'
}

const CORE: Case[] = [
  { arch: 'llama', variant: '4bit', kind: 'lora', mlx: 'default' },
  { arch: 'llama', variant: 'bf16', kind: 'dora', mlx: 'default' },
  { arch: 'qwen3_moe', variant: 'bf16', kind: 'lora', mlx: 'default' },
  { arch: 'gemma3', variant: 'bf16', kind: 'lora', mlx: 'default' },
  // A 4-bit base made by mlx-lm 0.32.2 carries a transformers v5 tokenizer, which 0.28.3
  // (transformers 4.x) cannot load: the oldest version fuses a Hub-style bf16 base.
  { arch: 'llama', variant: 'bf16', kind: 'lora', mlx: 'oldest' }
]
const MATRIX: Case[] = [
  ...(['llama', 'qwen3', 'gemma3', 'phi3', 'mistral', 'qwen3_moe'] as const).flatMap(arch =>
    (['4bit', 'bf16'] as const).map(variant => ({
      arch,
      variant,
      kind: 'lora' as const,
      mlx: 'default' as const
    }))
  ),
  { arch: 'llama', variant: 'bf16', kind: 'full', mlx: 'default' },
  { arch: 'llama', variant: 'bf16', kind: 'lora', mlx: 'oldest' }
]
const matrix = process.env.MLX_FUSE_REAL_MATRIX === '1'
const CASES = matrix
  ? [...MATRIX, ...CORE.filter(c => !MATRIX.some(m => JSON.stringify(m) === JSON.stringify(c)))]
  : CORE

/** Where each case's timings are appended, one JSON line per case, for the report table. */
const RESULTS =
  process.env.MLX_FUSE_REAL_RESULTS ?? path.join(os.tmpdir(), 'mlx-fuse-real-results.jsonl')

/** The log groups run() opened (one per tool step), with their wall times. */
function timeGroups(): Array<{ title: string; ms: number; ok: boolean }> {
  const steps: Array<{ title: string; ms: number; ok: boolean }> = []
  core.group.mockImplementation(async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now()
    try {
      const value = await fn()
      steps.push({ title, ms: Date.now() - started, ok: true })
      return value
    } catch (error) {
      steps.push({ title, ms: Date.now() - started, ok: false })
      throw error
    }
  })
  return steps
}

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

describe.each(CASES)('$arch $variant + $kind on the $mlx mlx-lm, real tools', c => {
  it('yields verified, loadable GGUF files, or is refused before the first fuse', async () => {
    const started = Date.now()
    const base = await realModel(c.arch, c.variant)
    const adapters = await realAdapters(c.arch, c.variant, c.kind)
    const made = Date.now()
    const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), `real-${c.arch}-`)))
    const out = path.join(root, 'fused-model')
    Object.assign(core.inputs, {
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      python: c.mlx === 'default' ? mlxPython() : mlxOldPython(),
      'output-dir': out,
      gguf: 'F16, Q4_K_M',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      'smoke-test': 'true',
      upload: 'false'
    })
    const steps = timeGroups()
    await run()
    const failed = core.setFailed.mock.calls.map(call => String(call[0]))
    await fs.appendFile(
      RESULTS,
      `${JSON.stringify({ ...c, steps, failed, ms: Date.now() - made, madeModelMs: made - started, modelSeconds: base.seconds, adapterSeconds: adapters.seconds })}\n`
    )
    const config = JSON.parse(await fs.readFile(path.join(base.dir, 'config.json'), 'utf8'))
    if (c.arch === 'gemma3' && c.variant === '4bit') {
      // mlx_lm convert -q wrote no tokenizer.model, which the converter needs for Gemma: refused
      // before the first fuse, in one sentence.
      expect(failed).toEqual([expect.stringMatching(/has no tokenizer\.model, which llama\.cpp/)])
      expect(steps.filter(s => /^Fusing/.test(s.title))).toEqual([])
      await expect(fs.stat(out)).rejects.toThrow(/ENOENT/)
      return
    }
    expect(failed).toEqual([])
    const paths = JSON.parse(core.outputs['gguf-paths']) as Record<string, string>
    const files = Object.values(paths)
    expect(files.map(f => path.basename(f)).sort()).toEqual([
      'fused-model-F16.gguf',
      'fused-model-Q4_K_M.gguf'
    ])
    for (const file of files) {
      const h = await readGgufHeader(file)
      const tokens = h.metadata['tokenizer.ggml.tokens'] as string[]
      expect(tokens).toHaveLength(config.vocab_size)
      if (c.arch === 'gemma3') expect(h.metadata['tokenizer.ggml.model']).toBe('llama')
      // The converter recognized GPT-2's pre-tokenizer (it refuses an unknown one).
      else expect(h.metadata['tokenizer.ggml.pre']).toBe('gpt-2')
      // The model's chat template came through, its end-of-turn token ends generation, and the
      // Modelfile beside the file stops at exactly the file's end-of-generation set.
      const chat = chatFacts(h)
      expect(chat.template).toMatch(/<\|im_start\|>|<start_of_turn>/)
      expect(chat.eogTexts).toContain(c.arch === 'gemma3' ? '<end_of_turn>' : '<|im_end|>')
      const modelfile = await fs.readFile(file.replace(/\.gguf$/, '.Modelfile'), 'utf8')
      expect(modelfile.split('\n')[0]).toBe(`FROM ./${path.basename(file)}`)
      const stops = modelfile
        .split('\n')
        .filter(l => l.startsWith('PARAMETER stop "'))
        .map(l => l.slice('PARAMETER stop "'.length, -1))
      expect(stops).toEqual(chat.eogTexts)
      // One chat turn through the file's own template, its end-of-turn token biased: a correct
      // end-of-generation set ends the reply at once.
      const eot = endOfTurnToken(chat)
      expect(eot).not.toBeNull()
      const turn = await chatTurn({
        bin: path.join(LLAMA_CPP_DIR, 'build', 'bin', 'llama-completion'),
        model: file,
        tokens: 8,
        bias: { id: eot!.id, by: 100 }
      })
      expect(turn.ended).toBe(true)
    }
    // The run's own chat turn (unbiased) ran for every file: it ended, or, since a random tiny
    // model need not write its end-of-turn token, it is the one chat warning allowed here.
    const warnings = core.warning.mock.calls.map(call => String(call[0]))
    const infos = core.info.mock.calls.map(call => String(call[0]))
    for (const file of files) {
      const name = path.basename(file)
      const turned =
        infos.some(l => l.includes(`one chat turn through ${name}'s chat template ended`)) ||
        warnings.some(w => w.includes(`${name} did not end its reply within 64 tokens`))
      expect(turned).toBe(true)
    }
    expect(warnings.filter(w => !/did not end its reply within/.test(w))).not.toContainEqual(
      expect.stringMatching(/chat template|end generation/)
    )
    // Stacked experts reach the converter split per expert, the names it maps.
    const logged = core.info.mock.calls.map(call => String(call[0]))
    expect(logged.some(l => /stacked mixture-of-experts weights/.test(l))).toBe(
      c.arch === 'qwen3_moe'
    )
    // Every GGUF file was loaded by llama.cpp and generated tokens.
    const smoke = core.info.mock.calls
      .map(call => String(call[0]))
      .filter(l => /llama\.cpp loaded/.test(l))
    expect(smoke.map(l => l.split(':')[0]).sort()).toEqual(['F16', 'Q4_K_M'])
    // The GGUF path fused again, de-quantized, whenever the MLX output stayed quantized.
    const fuses = steps.filter(s => /^Fusing/.test(s.title)).length
    expect(fuses).toBe(c.variant === '4bit' ? 2 : 1)
    await fs.rm(root, { recursive: true, force: true })
  }, 1_800_000)
})

describe('a model whose tokenizer has no chat template, real tools', () => {
  it('fuses and converts, and warns once, naming the runtimes that will misbehave; the Modelfile says so', async () => {
    const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'real-untemplated-')))
    const base = await withoutChatTemplate(
      (await realModel('llama', 'bf16')).dir,
      path.join(root, 'tiny-llama-no-template')
    )
    const adapters = await realAdapters('llama', 'bf16', 'lora')
    Object.assign(core.inputs, {
      'base-model': base,
      'adapter-path': adapters.dir,
      python: mlxPython(),
      'output-dir': path.join(root, 'fused-model'),
      gguf: 'F16, Q8_0',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      'smoke-test': 'true',
      upload: 'false'
    })
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    const paths = JSON.parse(core.outputs['gguf-paths']) as Record<string, string>
    expect(Object.keys(paths).sort()).toEqual(['F16', 'Q8_0'])
    // One warning for both files, naming the runtimes and the fix.
    const warnings = core.warning.mock.calls.map(call => String(call[0]))
    const untemplated = warnings.filter(w => /have no chat template/.test(w))
    expect(untemplated).toEqual([
      expect.stringContaining(
        'The GGUF files have no chat template because the fused model has none'
      )
    ])
    expect(untemplated[0]).toContain('Ollama, LM Studio and the llama.cpp server')
    expect(untemplated[0]).toContain('add chat_template.jinja to the base model')
    for (const file of Object.values(paths)) {
      const chat = chatFacts(await readGgufHeader(file))
      expect(chat.template).toBeNull()
      // No chat turn runs through a template the file does not have.
      const name = path.basename(file)
      const infos = core.info.mock.calls.map(call => String(call[0]))
      expect(infos.some(l => l.includes(`one chat turn through ${name}`))).toBe(false)
      expect(infos.some(l => l.includes(`llama.cpp loaded ${name}`))).toBe(true)
      // The Modelfile stops at the file's end-of-generation set and says why it has no TEMPLATE.
      const modelfile = await fs.readFile(file.replace(/\.gguf$/, '.Modelfile'), 'utf8')
      expect(modelfile).not.toMatch(/^TEMPLATE/m)
      expect(modelfile).toContain('# No TEMPLATE: the model has no chat template')
      const stops = modelfile
        .split('\n')
        .filter(l => l.startsWith('PARAMETER stop "'))
        .map(l => l.slice('PARAMETER stop "'.length, -1))
      expect(stops).toEqual(chat.eogTexts)
      expect(stops.length).toBeGreaterThan(0)
    }
    await fs.rm(root, { recursive: true, force: true })
  }, 1_800_000)
})
