/**
 * The tokenizer as mlx-lm >= 0.30 saves it (transformers v5) against the real
 * convert_hf_to_gguf.py (transformers 4.57.6), and the GGUF checks against the source, on tiny
 * real models (test/fixtures/real.ts). The 4-bit models are saved by the real mlx-lm 0.32.2
 * exactly as fuse saves its output, so the converter meets what it meets after a fuse.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  checkBaseTokenizer,
  convertibleTokenizerConfig,
  prepareConversionSource,
  readSourceFacts,
  type SourceFacts
} from '../src/gguf/source.js'
import {
  chatFacts,
  chatWarnings,
  checkSource,
  readGgufHeader,
  verifyGguf
} from '../src/gguf/verify.js'
import { convertPython, realModel, withoutChatTemplate } from './fixtures/real.js'
import { run } from './fixtures/tiny.js'

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!
const CONVERT = path.join(LLAMA_CPP_DIR, 'convert_hf_to_gguf.py')

let root: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'real-tokenizer-')))
})

/** The real converter; resolves to its output and exit status instead of throwing. */
async function convert(
  dir: string,
  out: string,
  extra: string[] = []
): Promise<{ ok: boolean; text: string }> {
  return run(convertPython(), [CONVERT, dir, '--outfile', out, '--outtype', 'f16', ...extra]).then(
    r => ({ ok: true, text: r.stdout + r.stderr }),
    (e: Error) => ({ ok: false, text: e.message })
  )
}

/** Every file of a folder with its bytes' hash, to prove it was not changed. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await fs.readdir(dir)).sort()) {
    const stat = await fs.lstat(path.join(dir, name))
    if (stat.isFile()) {
      out[name] = createHash('sha256')
        .update(await fs.readFile(path.join(dir, name)))
        .digest('hex')
    }
  }
  return out
}

describe('convertibleTokenizerConfig', () => {
  it('rewrites what transformers v5 writes into what 4.57 loads, and nothing else', () => {
    expect(
      convertibleTokenizerConfig({
        tokenizer_class: 'TokenizersBackend',
        extra_special_tokens: ['<|im_start|>', '<|im_end|>'],
        eos_token: '<|im_end|>'
      })
    ).toEqual({
      tokenizer_class: 'PreTrainedTokenizerFast',
      additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
      eos_token: '<|im_end|>'
    })
    // The base model's own class, when it named one 4.x knows (Phi-4's GPT2Tokenizer).
    expect(
      convertibleTokenizerConfig({ tokenizer_class: 'TokenizersBackend' }, 'GPT2Tokenizer')
    ).toEqual({ tokenizer_class: 'GPT2Tokenizer' })
    expect(
      convertibleTokenizerConfig({ tokenizer_class: 'TokenizersBackend' }, 'TokenizersBackend')
    ).toEqual({ tokenizer_class: 'PreTrainedTokenizerFast' })
    // A named-token dict (4.x's meaning of extra_special_tokens) and other classes stay.
    expect(
      convertibleTokenizerConfig({
        tokenizer_class: 'GemmaTokenizer',
        extra_special_tokens: { image_token: '<img>' }
      })
    ).toBeNull()
  })
})

describe('a GPT-2-vocabulary llama saved by mlx-lm 0.32.2 (transformers v5)', () => {
  it('fails in the real converter as saved, converts from the prepared source, and is left unchanged', async () => {
    // `mlx_lm convert -q` saves the tokenizer as fuse does (utils.py save, save_pretrained)
    const base = (await realModel('llama', '4bit')).dir
    const before = await fingerprint(base)
    const raw = await convert(base, path.join(root, 'raw.gguf'), ['--vocab-only'])
    expect(raw.ok).toBe(false)
    expect(raw.text).toContain('Tokenizer class TokenizersBackend does not exist')

    const work = path.join(root, 'llama-work')
    const prepared = await prepareConversionSource(base, base, work)
    expect(prepared.dir).toBe(path.join(work, 'convert-source', path.basename(base)))
    expect(prepared.changes).toHaveLength(1)
    const out = path.join(root, 'llama-vocab.gguf')
    const fixed = await convert(prepared.dir, out, ['--vocab-only'])
    expect(fixed.text).not.toContain('Traceback')
    expect(fixed.ok).toBe(true)
    const h = await readGgufHeader(out)
    expect(h.metadata['tokenizer.ggml.pre']).toBe('gpt-2') // recognized, not refused
    expect((h.metadata['tokenizer.ggml.tokens'] as string[]).length).toBe(50259)
    expect(h.metadata['tokenizer.ggml.eos_token_id']).toBe(prepared.facts.eos)
    // The template and the stop tokens came through: nothing to warn about.
    expect(chatFacts(h).template).toBe(prepared.facts.chatTemplate)
    expect(chatWarnings('llama-vocab.gguf', chatFacts(h), prepared.facts)).toEqual([])
    expect(await fingerprint(base)).toEqual(before)
  }, 1_800_000)

  it('without its chat template converts to a GGUF with none: a warning that the model has none, or that the file lost it', async () => {
    const base = (await realModel('llama', '4bit')).dir
    const bare = await withoutChatTemplate(base, path.join(root, 'llama-no-template'))
    const prepared = await prepareConversionSource(bare, bare, path.join(root, 'bare-work'))
    expect(prepared.facts.chatTemplate).toBeNull()
    const out = path.join(root, 'llama-no-template.gguf')
    const r = await convert(prepared.dir, out, ['--vocab-only'])
    expect(r.ok).toBe(true)
    const chat = chatFacts(await readGgufHeader(out))
    expect(chat.template).toBeNull()
    // Against the model it came from: the model has none, which names the runtimes and the fix.
    expect(chatWarnings('llama-no-template.gguf', chat, prepared.facts)).toEqual([
      expect.stringMatching(
        /^The GGUF files have no chat template because the fused model has none .*Ollama, LM Studio and the llama\.cpp server .*add chat_template\.jinja/
      )
    ])
    // Against the model with its template: the file lost it in the conversion.
    const templated = await readSourceFacts(base)
    expect(templated.chatTemplate).toContain('<|im_start|>')
    expect(chatWarnings('llama-no-template.gguf', chat, templated)).toEqual([
      expect.stringMatching(
        /^llama-no-template\.gguf lost the model's chat template in the conversion \(no tokenizer\.chat_template\)/
      )
    ])
  }, 1_800_000)
})

describe('a SentencePiece gemma3 fused without its tokenizer.model', () => {
  let fused: string
  let base: string
  beforeAll(async () => {
    base = (await realModel('gemma3', 'bf16')).dir
    // What fuse writes: every file but tokenizer.model (copied, so the base stays whole).
    fused = path.join(root, 'gemma3-fused')
    await fs.mkdir(fused)
    for (const name of await fs.readdir(base)) {
      if (name !== 'tokenizer.model' && !name.startsWith('.'))
        await fs.copyFile(path.join(base, name), path.join(fused, name))
    }
  }, 1_800_000)

  it('gets the base model tokenizer.model and converts to a SentencePiece GGUF verified against it', async () => {
    const prepared = await prepareConversionSource(fused, base, path.join(root, 'gemma3-work'))
    expect(prepared.changes.join('; ')).toContain('tokenizer.model copied from the base model')
    await expect(fs.stat(path.join(fused, 'tokenizer.model'))).rejects.toThrow(/ENOENT/)
    const out = path.join(root, 'gemma3-F16.gguf')
    const r = await convert(prepared.dir, out)
    expect(r.ok).toBe(true)
    const h = await readGgufHeader(out)
    expect(h.metadata['tokenizer.ggml.model']).toBe('llama')
    const facts = await verifyGguf(out, 'F16', undefined, prepared.facts)
    expect(facts.tensorCount).toBe(prepared.facts.tensorCount)

    // Each check of the source refuses a file that differs from it, in one sentence.
    const wrong: Array<[Partial<SourceFacts>, RegExp]> = [
      [{ vocabSize: 770 }, /vocabulary of 769 tokens, not the vocab_size 770/],
      [{ chatTemplate: 'other' }, /has another chat template than the model/],
      [{ bos: 7 }, /BOS token id 2, not the 7/],
      [{ eos: 7 }, /EOS token id 1, not the 7/],
      [{ tensorCount: prepared.facts.tensorCount + 1 }, /tensors, not the/],
      [
        { shapes: prepared.facts.shapes.map((s, i) => (i === 0 ? `${s}x2` : s)) },
        /parameters \(a tensor of shape/
      ]
    ]
    for (const [change, message] of wrong) {
      expect(() => checkSource('gemma3-F16.gguf', h, { ...prepared.facts, ...change })).toThrow(
        message
      )
      await expect(
        verifyGguf(out, 'F16', undefined, { ...prepared.facts, ...change })
      ).rejects.toThrow(message)
    }
  }, 1_800_000)

  it('without any tokenizer.model is refused by the converter, so a base without one is refused up front', async () => {
    // The fused folder as it is, with no tokenizer.model to copy: the real converter refuses it.
    const r = await convert(fused, path.join(root, 'gemma3-none.gguf'))
    expect(r.ok).toBe(false)
    expect(r.text).toMatch(/BPE pre-tokenizer was not recognized/)
    // So the plan refuses such a base before the first fuse: the 4-bit base that the real
    // mlx_lm convert -q made has none, the bf16 base has one.
    const q4 = (await realModel('gemma3', '4bit')).dir
    await expect(fs.stat(path.join(q4, 'tokenizer.model'))).rejects.toThrow(/ENOENT/)
    await expect(checkBaseTokenizer(q4, 'tiny-gemma3-4bit', 'gemma3')).rejects.toThrow(
      'Input base-model "tiny-gemma3-4bit" (model_type gemma3) has no tokenizer.model, which llama.cpp\'s convert_hf_to_gguf.py needs to convert a Gemma vocabulary'
    )
    await expect(checkBaseTokenizer(base, 'tiny-gemma3', 'gemma3')).resolves.toBeUndefined()
    // Other model types convert a tokenizer.json without it.
    await expect(checkBaseTokenizer(q4, 'x', 'llama')).resolves.toBeUndefined()
  }, 1_800_000)

  it('reads the same facts from the fused folder as the converter keeps', async () => {
    const facts = await readSourceFacts(fused)
    expect(facts).toMatchObject({ vocabSize: 769, bos: 2, eos: 1 })
    expect(facts.stopIds).toEqual(expect.arrayContaining([1]))
    expect(facts.chatTemplate).toContain('<start_of_turn>')
  })
})
