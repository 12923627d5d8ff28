/**
 * The eval data of the quality measurements: a text file, or an mlx-lm dataset (JSONL with `text`,
 * `prompt`/`completion` or chat `messages`, the formats of mlx_lm.tuner.datasets), read and checked
 * here before anything expensive runs; and the chunking that bounds its cost.
 *
 * Documents go to the Python helper (python/quality_reference.py), which tokenizes them with the
 * model's own tokenizer: `text` as mlx-lm's TextDataset does (special tokens, EOS appended),
 * `prompt`/`completion` as the user/assistant turns CompletionsDataset renders, `messages` (with
 * `tools` when given) through the chat template as ChatDataset does. No prompt masking: every token
 * is scored.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'

import { ActionError } from '../core/types.js'
import { DEFAULT_EVAL_CONTEXT, DEFAULT_EVAL_TOKENS, MIN_EVAL_CONTEXT } from './thresholds.js'

export interface ChatMessage {
  role: string
  content: string
}

/** One document of the eval data, as the helper reads it. */
export type EvalDocument = { text: string } | { messages: ChatMessage[]; tools?: unknown }

export interface EvalData {
  /** The file read (a dataset folder's valid.jsonl when the input named the folder). */
  file: string
  format: 'text' | 'text-jsonl' | 'completions-jsonl' | 'chat-jsonl'
  documents: EvalDocument[]
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A line of an mlx-lm dataset as a document, or the reason it is none. */
function lineDocument(
  value: unknown
): { doc: EvalDocument; format: EvalData['format'] } | { why: string } {
  if (!isObject(value)) return { why: 'is not a JSON object' }
  const tools = value.tools ?? undefined
  if ('messages' in value) {
    const messages = value.messages
    if (!Array.isArray(messages) || messages.length === 0) {
      return { why: 'has "messages" that is not a non-empty list' }
    }
    for (const [i, m] of messages.entries()) {
      if (!isObject(m) || typeof m.role !== 'string' || typeof m.content !== 'string') {
        return { why: `has message ${i + 1} without a string "role" and a string "content"` }
      }
    }
    return {
      doc: { messages: messages as ChatMessage[], ...(tools === undefined ? {} : { tools }) },
      format: 'chat-jsonl'
    }
  }
  if ('prompt' in value || 'completion' in value) {
    if (typeof value.prompt !== 'string' || typeof value.completion !== 'string') {
      return { why: 'needs both "prompt" and "completion" as strings' }
    }
    const messages = [
      { role: 'user', content: value.prompt },
      { role: 'assistant', content: value.completion }
    ]
    return {
      doc: { messages, ...(tools === undefined ? {} : { tools }) },
      format: 'completions-jsonl'
    }
  }
  if (typeof value.text === 'string') {
    return value.text === ''
      ? { why: 'has an empty "text"' }
      : { doc: { text: value.text }, format: 'text-jsonl' }
  }
  const keys = Object.keys(value)
  return {
    why: `has none of "text", "prompt"/"completion" or "messages" (its keys: ${keys.length ? keys.map(k => JSON.stringify(k)).join(', ') : 'none'})`
  }
}

/**
 * Reads the `eval-data` input: a `.jsonl` file (or a dataset folder's `valid.jsonl`) as an mlx-lm
 * dataset, anything else as one text document. Every failure names the file (and line) and the fix.
 */
export async function readEvalData(file: string, input = 'eval-data'): Promise<EvalData> {
  let target = path.resolve(file)
  const stat = await fs.stat(target).catch(() => null)
  if (stat === null) {
    throw new ActionError({
      problem: `Input ${input} is "${file}", which does not exist`,
      fix: 'set it to a text file or an mlx-lm dataset file (JSONL), e.g. the valid.jsonl of training'
    })
  }
  if (stat.isDirectory()) {
    const valid = path.join(target, 'valid.jsonl')
    if (!(await fs.stat(valid).catch(() => null))?.isFile()) {
      throw new ActionError({
        problem: `Input ${input} is the folder "${file}", which has no valid.jsonl`,
        fix: 'name a text file or a JSONL dataset file instead'
      })
    }
    target = valid
  }
  const text = await fs.readFile(target, 'utf8')
  if (!target.toLowerCase().endsWith('.jsonl')) {
    if (text.trim() === '') {
      throw new ActionError({
        problem: `Input ${input} names ${target}, which is empty`,
        fix: 'give it the text to evaluate on'
      })
    }
    return { file: target, format: 'text', documents: [{ text }] }
  }
  const documents: EvalDocument[] = []
  let format: EvalData['format'] | null = null
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new ActionError({
        problem: `Line ${i + 1} of ${target} (input ${input}) is not valid JSON (${(error as Error).message}): an mlx-lm dataset has one JSON object per line`
      })
    }
    const got = lineDocument(value)
    if ('why' in got) {
      throw new ActionError({
        problem: `Line ${i + 1} of ${target} (input ${input}) ${got.why}: each line needs "text", "prompt" and "completion", or chat "messages", as mlx-lm's datasets do`
      })
    }
    if (format !== null && got.format !== format) {
      throw new ActionError({
        problem: `Line ${i + 1} of ${target} (input ${input}) is ${got.format} while the lines before it are ${format}: an mlx-lm dataset keeps one format`
      })
    }
    format = got.format
    documents.push(got.doc)
  }
  if (format === null) {
    throw new ActionError({
      problem: `Input ${input} names ${target}, which holds no lines`,
      fix: 'give it at least one document'
    })
  }
  return { file: target, format, documents }
}

/** The context the model was made for, from its config.json (null when it states none). */
export function modelContextLength(config: unknown): number | null {
  const keys = ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length']
  for (const c of [config, isObject(config) ? config.text_config : undefined]) {
    if (!isObject(c)) continue
    for (const k of keys) {
      const v = c[k]
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v
    }
  }
  return null
}

export interface EvalChunking {
  /** Tokens per chunk (llama-perplexity's n_ctx). */
  ctx: number
  /** At most this many tokens are evaluated: whole chunks of ctx. */
  evalTokens: number
  /** Chunks at most (fewer when the data is shorter). */
  maxChunks: number
}

/**
 * The chunking of a run: context 512 (llama-perplexity's default), or the model's own when it is
 * smaller; `evalTokens` (default 4096) bounds the tokens, and must hold one chunk at least.
 */
export function evalChunking(opts: {
  evalTokens?: number
  modelContext?: number | null
  context?: number
  input?: string
}): EvalChunking {
  const evalTokens = opts.evalTokens ?? DEFAULT_EVAL_TOKENS
  const wanted = opts.context ?? DEFAULT_EVAL_CONTEXT
  const ctx = Math.min(wanted, opts.modelContext ?? wanted)
  if (ctx < MIN_EVAL_CONTEXT) {
    throw new ActionError({
      problem: `The model's context is ${ctx} tokens, under the ${MIN_EVAL_CONTEXT} the quality measurements need to score a chunk`,
      fix: 'leave eval-data empty for this model'
    })
  }
  if (!Number.isInteger(evalTokens) || evalTokens < ctx) {
    throw new ActionError({
      problem: `Input ${opts.input ?? 'eval-tokens'} is ${evalTokens}, less than one chunk of ${ctx} tokens`,
      fix: `set it to ${ctx} or more (default ${DEFAULT_EVAL_TOKENS})`
    })
  }
  return { ctx, evalTokens, maxChunks: Math.floor(evalTokens / ctx) }
}
