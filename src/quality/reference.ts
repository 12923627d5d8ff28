/**
 * The one reference of the quality measurements, and the MLX outputs' scores against it: both by
 * the Python helper shipped with the action (python/quality_reference.py, mlx_lm's public `load`
 * and the model's call only), run through the core runner with argument arrays.
 *
 * The reference file is llama-perplexity's own `--kl-divergence-base` format (ggml-org/llama.cpp
 * tag v0.4.0 `tools/perplexity/perplexity.cpp`, `perplexity()` writes it, `kl_divergence()` reads
 * it): "_logits_", int32 n_ctx, n_vocab, n_chunk, the int32 token ids of every chunk, then for each
 * chunk's scored rows (n_ctx − 1 − n_ctx/2 of them) nv = 2·⌈n_vocab/2⌉ + 4 uint16s: a float32
 * scale, a float32 minimum log-probability and the n_vocab quantized log-probabilities.
 */
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { runPythonStep } from '../core/python.js'
import { describeExit, type RunResult } from '../core/run.js'
import { writeScratchFile } from '../core/scratch.js'
import { ActionError } from '../core/types.js'
import type { ErrorParts } from '../core/errors.js'
import type { EvalChunking, EvalDocument } from './data.js'
import type { QualityFigures } from './types.js'

export const HELPER_NAME = 'quality_reference.py'

/**
 * The helper's path: `python/quality_reference.py` in the action's root, found upwards from this
 * module (src/quality/ in the sources, dist/ in the bundle).
 */
export function qualityHelperPath(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python', HELPER_NAME)
    if (existsSync(candidate)) return candidate
    if (path.dirname(dir) === dir) break
  }
  throw new ActionError({
    problem: `The action's python/${HELPER_NAME} is missing next to ${from}: the action's checkout is incomplete`,
    fix: 'use a released tag of the action'
  })
}

/** Bytes of a reference file: header, token ids, and 16-bit log-probabilities of every scored row. */
export function referenceFileBytes(nVocab: number, nCtx: number, nChunk: number): bigint {
  const rows = BigInt(nCtx - 1 - Math.floor(nCtx / 2))
  const nv = BigInt(2 * Math.ceil(nVocab / 2) + 4)
  return 20n + 4n * BigInt(nCtx) * BigInt(nChunk) + BigInt(nChunk) * rows * nv * 2n
}

export interface ReferenceHeader {
  nCtx: number
  nVocab: number
  nChunk: number
}

/** The header of a reference file; null when it is not one (no `_logits_`). */
export async function readReferenceHeader(file: string): Promise<ReferenceHeader | null> {
  const handle = await fs.open(file, 'r')
  try {
    const buf = Buffer.alloc(20)
    const { bytesRead } = await handle.read(buf, 0, 20, 0)
    if (bytesRead < 20 || buf.toString('latin1', 0, 8) !== '_logits_') return null
    return { nCtx: buf.readInt32LE(8), nVocab: buf.readInt32LE(12), nChunk: buf.readInt32LE(16) }
  } finally {
    await handle.close()
  }
}

/** A document as the MLX tokenizer encoded it (for the tokenizer comparison with the GGUF's). */
export interface TokenizedDocument {
  text: string
  /** Encoded with the tokenizer's special tokens (BOS) added: text documents; chat renderings not. */
  addSpecial: boolean
  ids: number[]
}

export interface Reference extends ReferenceHeader {
  file: string
  /** Tokens evaluated: nChunk × nCtx. */
  tokens: number
  /** Tokens scored: nChunk × (nCtx − 1 − nCtx/2). */
  scored: number
  /** Whether each chunk's first token was replaced by BOS (the tokenizer adds one). */
  addBos: boolean
  bosId: number | null
  /** Perplexity of base + adapters on the scored tokens, from full-precision logits. */
  ppl: number
  bytes: bigint
  /** The documents the reference used, as the MLX tokenizer encoded them. */
  documents: TokenizedDocument[]
}

export interface ModelToScore {
  /** The `mlx-python` interpreter (mlx_lm importable). */
  python: string
  /** An MLX model folder (the base, or a fused output). */
  model: string
  /** Adapters to apply as mlx_lm loads them (the reference: base + adapters). */
  adapterPath?: string
}

/** The JSON object on the helper's last line of standard output. */
function helperAnswer(result: RunResult, what: string): Record<string, unknown> {
  const last = result.stdout.trim().split('\n').pop() ?? ''
  try {
    const value: unknown = JSON.parse(last)
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>
  } catch {
    // fall through to the sentence below
  }
  throw new ActionError({
    problem: `${HELPER_NAME} ${what} printed no result (last output: ${result.tail.last()})`,
    fix: `run it again, and report it if it repeats`
  })
}

function num(answer: Record<string, unknown>, key: string, what: string): number {
  const v = answer[key]
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ActionError({
      problem: `${HELPER_NAME} ${what} gave no finite ${key} (got ${JSON.stringify(v)})`
    })
  }
  return v
}

function helperFailure(what: string, r: RunResult): ErrorParts {
  const said = r.tail
    .all()
    .filter(l => l.startsWith('quality_reference: '))
    .pop()
  return said !== undefined
    ? { problem: `${HELPER_NAME} ${what}: ${said.slice('quality_reference: '.length)}` }
    : {
        problem: `${HELPER_NAME} ${describeExit(r)} ${what} (last output: ${r.tail.last()})`,
        fix: `check that mlx-python runs mlx_lm and that the model loads with it`
      }
}

function modelArgs(m: ModelToScore): string[] {
  return [
    '--model',
    path.resolve(m.model),
    ...(m.adapterPath ? ['--adapter-path', path.resolve(m.adapterPath)] : [])
  ]
}

/**
 * Evaluates base + adapters once on the eval data and writes the reference file `out`
 * (llama-perplexity's format). `workDir` is a folder the caller owns, where the documents and the
 * tokenization are written. A failure removes the partial file.
 */
export async function makeReference(
  opts: ModelToScore & {
    documents: readonly EvalDocument[]
    chunking: EvalChunking
    workDir: string
    out: string
  }
): Promise<Reference> {
  const docs = path.join(opts.workDir, 'eval-documents.json')
  const tokens = path.join(opts.workDir, 'eval-tokens.json')
  await writeScratchFile(docs, JSON.stringify({ documents: opts.documents }))
  const what = `making the quality reference of ${opts.model}`
  const result = await runPythonStep({
    title: `Evaluating ${path.basename(opts.model)}${opts.adapterPath ? ' + adapters' : ''} for the quality reference`,
    tool: HELPER_NAME,
    bin: opts.python,
    args: [
      qualityHelperPath(),
      'reference',
      ...modelArgs(opts),
      ...['--data', docs, '--ctx', String(opts.chunking.ctx)],
      ...['--eval-tokens', String(opts.chunking.evalTokens)],
      ...['--out', path.resolve(opts.out), '--tokens-out', tokens]
    ],
    cleanup: [opts.out, tokens],
    hint: 'check that mlx-python runs mlx_lm',
    failure: r => helperFailure(what, r)
  })
  const answer = helperAnswer(result, what)
  const header = await readReferenceHeader(opts.out)
  const nCtx = num(answer, 'nCtx', what)
  const nVocab = num(answer, 'nVocab', what)
  const nChunk = num(answer, 'nChunk', what)
  if (
    header === null ||
    header.nCtx !== nCtx ||
    header.nVocab !== nVocab ||
    header.nChunk !== nChunk
  ) {
    throw new ActionError({
      problem: `${HELPER_NAME} wrote ${opts.out} without the header it reported (n_ctx ${nCtx}, n_vocab ${nVocab}, ${nChunk} chunks)`,
      fix: `run it again, and report it if it repeats`
    })
  }
  const bytes = BigInt((await fs.stat(opts.out)).size)
  if (bytes !== referenceFileBytes(nVocab, nCtx, nChunk)) {
    throw new ActionError({
      problem: `${opts.out} holds ${bytes} bytes, not the ${referenceFileBytes(nVocab, nCtx, nChunk)} of ${nChunk} chunks of ${nCtx} tokens over ${nVocab} vocabulary entries: the reference is incomplete (disk full?)`
    })
  }
  const tokenized = JSON.parse(await fs.readFile(tokens, 'utf8')) as {
    documents: TokenizedDocument[]
  }
  const bosId = answer.bosId
  return {
    file: opts.out,
    nCtx,
    nVocab,
    nChunk,
    tokens: num(answer, 'tokens', what),
    scored: num(answer, 'scored', what),
    addBos: answer.addBos === true,
    bosId: typeof bosId === 'number' ? bosId : null,
    ppl: num(answer, 'ppl', what),
    bytes,
    documents: tokenized.documents
  }
}

/** Scores an MLX model (a fused output, or base + adapters) against the reference file. */
export async function scoreMlx(
  opts: ModelToScore & { reference: string }
): Promise<QualityFigures> {
  const what = `scoring ${opts.model} against ${opts.reference}`
  const result = await runPythonStep({
    title: `Scoring ${path.basename(opts.model)} against the quality reference`,
    tool: HELPER_NAME,
    bin: opts.python,
    args: [
      qualityHelperPath(),
      'score',
      ...modelArgs(opts),
      '--reference',
      path.resolve(opts.reference)
    ],
    hint: 'check that mlx-python runs mlx_lm',
    failure: r => helperFailure(what, r)
  })
  const answer = helperAnswer(result, what)
  return {
    ppl: num(answer, 'ppl', what),
    pplBase: num(answer, 'pplBase', what),
    meanKld: num(answer, 'meanKld', what),
    sameTop: num(answer, 'sameTop', what),
    count: num(answer, 'count', what)
  }
}
