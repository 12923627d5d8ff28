/**
 * The model folder llama.cpp's converter reads, made convertible, and the facts of it every GGUF
 * file must keep (tensors, vocabulary, chat template, special token ids).
 *
 * mlx-lm >= 0.30 saves the tokenizer through transformers v5, whose `save_pretrained` writes
 * `"tokenizer_class": "TokenizersBackend"` for a generic fast tokenizer and the extra special
 * tokens as a list under `extra_special_tokens` (huggingface/transformers v5.0.0,
 * src/transformers/tokenization_utils_base.py, `save_pretrained`). llama.cpp v0.4.0 pins
 * transformers 4.57.6 for the converter (requirements/requirements-convert_legacy_llama.txt),
 * whose `AutoTokenizer` knows no `TokenizersBackend` ("Tokenizer class TokenizersBackend does
 * not exist", models/auto/tokenization_auto.py) and reads `extra_special_tokens` as a dict of
 * named tokens (v4.57.6 tokenization_utils_base.py `_set_model_specific_special_tokens`), and
 * every BPE vocabulary path of convert_hf_to_gguf.py goes through it (ggml-org/llama.cpp v0.4.0
 * conversion/base.py `get_vocab_base`). 4.57.6 loads the same tokenizer.json as
 * `PreTrainedTokenizerFast`, with the list as `additional_special_tokens`.
 *
 * mlx_lm fuse also writes no `tokenizer.model`, which the converter's SentencePiece path needs
 * (conversion/base.py `_set_vocab_sentencepiece`, gemma.py `Gemma3Model.set_vocab`): it is taken
 * from the base model.
 *
 * The converted folder is never changed: the converter reads a folder the action owns, whose
 * files are links to the model's, except the rewritten tokenizer_config.json and the copied
 * tokenizer.model.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'

import { exists } from '../core/folders.js'
import { shadowFolder, type ShadowEntry } from '../core/rewrite.js'
import { ActionError } from '../core/types.js'
import { elementCount, listWeightFiles, readSafetensorsHeader } from '../mlx/safetensors.js'

/** What every GGUF file made from a source must keep. */
export interface SourceFacts {
  dir: string
  tensorCount: number
  /** Each tensor's shape in GGUF order (innermost first), sorted, as `256x512`. */
  shapes: string[]
  parameters: number
  /** config.json `vocab_size` (null when the config has none). */
  vocabSize: number | null
  /** The chat template's text (chat_template.jinja, else tokenizer_config.json), or null. */
  chatTemplate: string | null
  bos: number | null
  eos: number | null
  /** Token ids generation stops at (generation_config.json / config.json `eos_token_id`). */
  stopIds: number[]
}

export interface ConversionSource {
  /** The folder to convert: the model's own, or the action's rewritten copy of it. */
  dir: string
  /** What was changed for the converter, for the log. */
  changes: string[]
  facts: SourceFacts
}

type Json = Record<string, unknown>

/**
 * Model types whose converter reads a SentencePiece vocabulary from `tokenizer.model` only:
 * Gemma and Gemma 2 always; Gemma 3 without it falls back to a GPT-2-style BPE and refuses the
 * unknown pre-tokenizer of a Gemma tokenizer.json, which no hash in `get_vocab_base_pre` matches
 * (ggml-org/llama.cpp v0.4.0 conversion/gemma.py `set_vocab`, conversion/base.py).
 */
const NEEDS_TOKENIZER_MODEL = new Set(['gemma', 'gemma2', 'gemma3', 'gemma3_text'])

/**
 * Refuses, before the first fuse, a base the converter cannot take the vocabulary of: a Gemma
 * model without `tokenizer.model` (a 4-bit base that `mlx_lm convert` re-saved has none, and
 * fuse cannot copy what the base lacks).
 */
export async function checkBaseTokenizer(
  baseDir: string,
  baseModel: string,
  modelType: string | null
): Promise<void> {
  if (modelType === null || !NEEDS_TOKENIZER_MODEL.has(modelType)) return
  if (await exists(path.join(baseDir, 'tokenizer.model'))) return
  throw new ActionError({
    problem: `Input base-model "${baseModel}" (model_type ${modelType}) has no tokenizer.model, which llama.cpp's convert_hf_to_gguf.py needs to convert a Gemma vocabulary (without it the converter refuses the vocabulary's pre-tokenizer)`,
    fix: `use a base that ships tokenizer.model, such as the original Hugging Face model (mlx_lm convert does not copy it), or leave the gguf input empty`
  })
}

async function readJson(file: string): Promise<Json | null> {
  const text = await readFile(file, 'utf8').catch(() => null)
  if (text === null) return null
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' ? (value as Json) : null
  } catch {
    return null
  }
}

/**
 * tokenizer_config.json as transformers 4.57 reads it, or null when it needs no change. The
 * class becomes the base model's own (`baseClass`, what its checkpoint named before mlx-lm
 * re-saved it), else `PreTrainedTokenizerFast`: the converter picks its vocabulary path by that
 * name for some architectures (a phi3 model with a GPT-2-style vocabulary, Phi-4, converts only
 * as `GPT2Tokenizer`: llama.cpp v0.4.0 conversion/phi.py `Phi3MiniModel.set_vocab`).
 */
export function convertibleTokenizerConfig(config: Json, baseClass?: unknown): Json | null {
  const out: Json = { ...config }
  let changed = false
  if (out.tokenizer_class === 'TokenizersBackend') {
    out.tokenizer_class =
      typeof baseClass === 'string' && baseClass !== '' && baseClass !== 'TokenizersBackend'
        ? baseClass
        : 'PreTrainedTokenizerFast'
    changed = true
  }
  if (Array.isArray(out.extra_special_tokens)) {
    const listed = Array.isArray(out.additional_special_tokens)
      ? (out.additional_special_tokens as unknown[])
      : []
    out.additional_special_tokens = [
      ...listed,
      ...(out.extra_special_tokens as unknown[]).filter(t => !listed.includes(t))
    ]
    delete out.extra_special_tokens
    changed = true
  }
  return changed ? out : null
}

/**
 * The folder the converter reads: `modelDir` itself when the converter can read it as it is,
 * else `workDir/convert-source/<its name>` with links to its files, a tokenizer_config.json that
 * transformers 4.57 loads, and the base model's tokenizer.model where fuse dropped it.
 */
export async function prepareConversionSource(
  modelDir: string,
  baseModel: string,
  workDir: string
): Promise<ConversionSource> {
  const replace = new Map<string, ShadowEntry>()
  const changes: string[] = []
  const tokenizerConfig = await readJson(path.join(modelDir, 'tokenizer_config.json'))
  const spm = path.join(baseModel, 'tokenizer.model')
  const hasSpm = (await exists(path.join(modelDir, 'tokenizer.model'))) || (await exists(spm))
  const rewritten =
    tokenizerConfig &&
    convertibleTokenizerConfig(tokenizerConfig, await originalClass(modelDir, baseModel, hasSpm))
  if (rewritten) {
    replace.set('tokenizer_config.json', { text: `${JSON.stringify(rewritten, null, 2)}\n` })
    changes.push(
      `tokenizer_config.json rewritten for the converter's transformers 4.x (tokenizer_class ${String(tokenizerConfig.tokenizer_class)} -> ${String(rewritten.tokenizer_class)})`
    )
  }
  if (!(await exists(path.join(modelDir, 'tokenizer.model'))) && (await exists(spm))) {
    replace.set('tokenizer.model', { copy: spm })
    changes.push('tokenizer.model copied from the base model (fuse does not write it)')
  }
  const facts = await readSourceFacts(modelDir)
  if (replace.size === 0) return { dir: modelDir, changes, facts }
  // Under the model's own folder name: the converter names the model after it (general.name).
  const dir = path.join(workDir, 'convert-source', path.basename(modelDir))
  await shadowFolder(modelDir, dir, replace)
  return { dir, changes, facts }
}

/**
 * The tokenizer class the model's checkpoint named: the base model's, unless mlx-lm re-saved that
 * too (a 4-bit base made by `mlx_lm convert`); then, for a phi3 model without a SentencePiece
 * model, `GPT2Tokenizer`, the only class the converter converts it as (conversion/phi.py).
 */
async function originalClass(
  modelDir: string,
  baseModel: string,
  hasSpm: boolean
): Promise<string | undefined> {
  const base = (await readJson(path.join(baseModel, 'tokenizer_config.json')))?.tokenizer_class
  if (typeof base === 'string' && base !== 'TokenizersBackend') return base
  const config = await readJson(path.join(modelDir, 'config.json'))
  return config?.model_type === 'phi3' && !hasSpm ? 'GPT2Tokenizer' : undefined
}

function tokenId(
  token: unknown,
  vocab: Record<string, number>,
  added: Map<string, number>
): number | null {
  const text =
    typeof token === 'string'
      ? token
      : token && typeof token === 'object'
        ? (token as Json).content
        : null
  if (typeof text !== 'string') return null
  return added.get(text) ?? vocab[text] ?? null
}

const ids = (value: unknown): number[] =>
  (Array.isArray(value) ? value : [value]).filter((v): v is number => Number.isInteger(v))

/** The source's tensors, vocabulary size, chat template and special token ids. */
export async function readSourceFacts(dir: string): Promise<SourceFacts> {
  const shapes: string[] = []
  let parameters = 0
  for (const file of await listWeightFiles(dir)) {
    const header = await readSafetensorsHeader(file)
    for (const info of Object.values(header.tensors)) {
      shapes.push([...info.shape].reverse().join('x'))
      parameters += elementCount(info.shape)
    }
  }
  shapes.sort()
  const config = (await readJson(path.join(dir, 'config.json'))) ?? {}
  const generation = (await readJson(path.join(dir, 'generation_config.json'))) ?? {}
  const tokConfig = (await readJson(path.join(dir, 'tokenizer_config.json'))) ?? {}
  const tokenizer = (await readJson(path.join(dir, 'tokenizer.json'))) ?? {}
  const model = (tokenizer.model ?? {}) as Json
  const vocab = (model.vocab && !Array.isArray(model.vocab) ? model.vocab : {}) as Record<
    string,
    number
  >
  const added = new Map<string, number>()
  for (const t of (tokenizer.added_tokens ?? []) as Json[]) {
    if (typeof t.content === 'string' && Number.isInteger(t.id))
      added.set(t.content, t.id as number)
  }
  const jinja = await readFile(path.join(dir, 'chat_template.jinja'), 'utf8').catch(() => null)
  const template =
    jinja ?? (typeof tokConfig.chat_template === 'string' ? tokConfig.chat_template : null)
  const configBos = ids(config.bos_token_id)[0] ?? null
  const configEos = ids(config.eos_token_id)[0] ?? null
  return {
    dir,
    tensorCount: shapes.length,
    shapes,
    parameters,
    vocabSize: Number.isInteger(config.vocab_size) ? (config.vocab_size as number) : null,
    chatTemplate: template,
    bos: tokenId(tokConfig.bos_token, vocab, added) ?? configBos,
    eos: tokenId(tokConfig.eos_token, vocab, added) ?? configEos,
    stopIds: [...new Set([...ids(generation.eos_token_id), ...ids(config.eos_token_id)])]
  }
}
