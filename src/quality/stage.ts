/**
 * The quality stage, after every output is made: base + adapters as mlx_lm loads them evaluated
 * once on the eval data (the reference, in llama-perplexity's own file format), then each MLX
 * output scored against it by the helper and each GGUF by llama-perplexity, on the same tokens.
 * From those figures only: a 16-bit GGUF far from the reference is a conversion finding (with the
 * first token id the tokenizers disagree on), and a fuse that lost the adapter's effect gets advice.
 * The reference lives in a working folder beside the MLX output, removed when the stage ends.
 */
import path from 'node:path'

import * as log from '../core/log.js'
import type { Workspace } from '../core/workspace.js'
import {
  ActionError,
  type Diagnosis,
  type MeasuredOutput,
  type OutputQuality,
  type StageResult
} from '../core/types.js'
import type { EvalChunking, EvalData } from './data.js'
import { scoreGguf } from './perplexity.js'
import { makeReference, scoreMlx, type Reference } from './reference.js'
import { CONVERSION_KLD_THRESHOLD } from './thresholds.js'
import { firstTokenDifference } from './tokenize.js'
import type { QualityFigures } from './types.js'

/** What the stage needs, as the plan checked it before any fuse. */
export interface QualityRequest {
  readonly data: EvalData
  /** SHA-256 and size of the eval data file. */
  readonly sha256: string
  readonly bytes: number
  readonly chunking: EvalChunking
  /** The mlx-python interpreter (mlx_lm importable). */
  readonly python: string
  /** The base model's folder and the adapters: the reference is these as mlx_lm loads them. */
  readonly base: string
  readonly adapterPath: string
  /** The MLX output's folder: the working folder is made beside it. */
  readonly outputDir: string
  /** The MLX output holds quantized weights (the fuse kept them, or quantize-bits made them). */
  readonly mlxQuantized: boolean
  /** The built llama-perplexity and llama-tokenize; null without GGUF outputs or their source. */
  readonly perplexity: string | null
  readonly tokenize: string | null
}

/** What the manifest says about the measurements: enough for two runs to compare. */
export interface QualitySummary {
  evalData: {
    path: string
    format: EvalData['format']
    documents: number
    sha256: string
    bytes: number
  }
  chunking: {
    /** Tokens per chunk (llama-perplexity's n_ctx). */
    context: number
    chunks: number
    /** eval-tokens: the bound asked for. */
    maxTokens: number
    /** Tokens evaluated (chunks × context) and scored (the second half of each chunk). */
    tokens: number
    scoredTokens: number
    /** Each chunk's first token was replaced by BOS (the tokenizer adds one). */
    bosReplaced: boolean
  }
  reference: { ppl: number; vocabulary: number; bytes: number }
  /** The base without the adapters against the reference: how much the adapters change the model. */
  adapterEffect: { meanKld: number; agreement: number; ppl: number }
  /** The mean KL divergence under which a 16-bit GGUF counts as a faithful conversion. */
  conversionThreshold: number
  /** Wall time of the whole stage. */
  seconds: number
}

export interface QualityResult extends StageResult {
  /** Null without eval-data. */
  quality: QualitySummary | null
}

const SIXTEEN_BIT = new Set(['F16', 'BF16', 'F32'])

const noEvalData: Diagnosis = {
  level: 'notice',
  title: 'No quality figures',
  text: 'eval-data is empty, so only the sizes were measured: set it to a text file or the valid.jsonl of training to score every output against base + adapters (perplexity, KL divergence, top-1 agreement).'
}

/**
 * The one reference of the run, made once the MLX stage is done and before the GGUF stage (whose
 * `gguf: auto` may score with it), in a working folder beside the MLX output; null without a
 * request. `spent` counts the seconds of every scoring done with it, for the stage's wall time.
 */
export interface QualityReference {
  readonly reference: Reference
  readonly work: string
  readonly spent: { seconds: number }
}

export async function makeQualityReference(
  req: QualityRequest | null,
  ws: Workspace
): Promise<QualityReference | null> {
  if (req === null) return null
  const started = Date.now()
  const work = await ws.stage(req.outputDir, 'quality')
  try {
    const reference = await makeReference({
      python: req.python,
      model: req.base,
      adapterPath: req.adapterPath,
      documents: req.data.documents,
      chunking: req.chunking,
      workDir: work,
      out: path.join(work, 'reference.kld')
    })
    await ws.wrote(work)
    return { reference, work, spent: { seconds: (Date.now() - started) / 1000 } }
  } catch (error) {
    return ws.failed(error, work)
  }
}

/**
 * A function scoring one GGUF file against the reference (for `gguf: auto` with a quality
 * budget); its time counts in the quality stage's.
 */
export function ggufScorer(
  req: QualityRequest,
  ref: QualityReference
): (file: string) => Promise<OutputQuality> {
  return async file => {
    const started = Date.now()
    const quality = await scoreOutput(
      req,
      { name: path.basename(file), kind: 'gguf', path: file },
      ref.reference,
      []
    )
    ref.spent.seconds += (Date.now() - started) / 1000
    return quality
  }
}

/** A stage between the reference and the quality stage failed: the reference goes with it. */
export async function dropQualityReference(
  error: unknown,
  ref: QualityReference | null,
  ws: Workspace
): Promise<never> {
  return ws.failed(error, ref?.work ?? null)
}

/**
 * Scores every output of `made` against the reference and hands `made` on with the figures on its
 * outputs and the findings added (an output `gguf: auto` scored keeps its figures); without a
 * request (no eval-data) one notice is added.
 */
export async function measureQuality(
  req: QualityRequest | null,
  ref: QualityReference | null,
  made: StageResult,
  ws: Workspace
): Promise<QualityResult> {
  if (req === null || ref === null) {
    return { ...made, diagnoses: [...made.diagnoses, noEvalData], quality: null }
  }
  const started = Date.now()
  const { reference, work } = ref
  try {
    const adapterEffect = await scoreMlx({
      python: req.python,
      model: req.base,
      reference: reference.file
    })
    const outputs: MeasuredOutput[] = []
    for (const output of made.outputs) {
      const quality = output.quality ?? (await scoreOutput(req, output, reference, made.outputs))
      outputs.push({ ...output, quality })
    }
    const diagnoses = [
      ...(await conversionFindings(req, outputs, reference, work, ws)),
      ...fusionAdvice(req.mlxQuantized, outputs, adapterEffect)
    ]
    await ws.remove(work)
    const seconds = (Date.now() - started) / 1000 + ref.spent.seconds
    log.info(
      `Quality: ${outputs.length} outputs scored on ${reference.scored} tokens in ${seconds.toFixed(1)} s.`
    )
    return {
      ...made,
      outputs,
      diagnoses: [...made.diagnoses, ...diagnoses],
      quality: summary(req, reference, adapterEffect, seconds)
    }
  } catch (error) {
    return ws.failed(error, work)
  }
}

function asQuality(f: QualityFigures, scoredBy: OutputQuality['scoredBy']): OutputQuality {
  return {
    ppl: f.ppl,
    pplReference: f.pplBase,
    pplChange: f.ppl / f.pplBase - 1,
    meanKld: f.meanKld,
    agreement: f.sameTop,
    tokens: f.count,
    scoredBy
  }
}

async function scoreOutput(
  req: QualityRequest,
  output: Pick<MeasuredOutput, 'name' | 'kind' | 'path'>,
  reference: Reference,
  all: readonly MeasuredOutput[]
): Promise<OutputQuality> {
  if (output.kind === 'mlx') {
    const f = await scoreMlx({ python: req.python, model: output.path, reference: reference.file })
    return asQuality(f, 'mlx')
  }
  if (req.perplexity === null) {
    // The plan refuses eval-data with GGUF outputs when this checkout has no llama-perplexity.
    throw new ActionError({
      problem: `llama-perplexity is not built, so ${output.name} cannot be scored against the quality reference`,
      fix: `use a llama.cpp checkout with tools/perplexity, or leave eval-data empty`
    })
  }
  // gguf-adapter's LoRA GGUF is no model alone: it is scored applied to its base GGUF, as it runs.
  const base = output.name === 'lora' ? all.find(o => o.kind === 'gguf' && o.name === 'base') : null
  // A split type is loaded from its first shard (`path`), as llama.cpp loads it.
  const f = await scoreGguf({
    perplexity: req.perplexity,
    gguf: base ? base.path : output.path,
    ...(base ? { lora: output.path } : {}),
    reference: reference.file,
    nCtx: reference.nCtx,
    scored: reference.scored
  })
  return asQuality(f, 'llama-perplexity')
}

const kld = (x: number): string => x.toPrecision(2)
const percent = (x: number): string => `${(100 * x).toFixed(1)} %`

/**
 * A 16-bit GGUF holds the fused weights as they are: its divergence from the reference should be
 * the rounding of the stored log-probabilities alone. Above the threshold the conversion changed
 * the model; the first token id the tokenizers disagree on says whether the tokenizer is why.
 */
async function conversionFindings(
  req: QualityRequest,
  outputs: readonly MeasuredOutput[],
  reference: Reference,
  work: string,
  ws: Workspace
): Promise<Diagnosis[]> {
  const found: Diagnosis[] = []
  for (const o of outputs) {
    if (o.kind !== 'gguf' || !SIXTEEN_BIT.has(o.name) || !o.quality) continue
    if (o.quality.meanKld <= CONVERSION_KLD_THRESHOLD) continue
    let cause: string
    if (req.tokenize === null) {
      cause =
        'llama-tokenize is not built in this llama.cpp checkout, so the tokenizers were not compared.'
    } else {
      const dir = path.join(work, `tokenize-${o.name}`)
      await ws.folder(dir)
      const diff = await firstTokenDifference({
        tokenize: req.tokenize,
        gguf: o.path,
        documents: reference.documents,
        workDir: dir
      })
      cause =
        diff === null
          ? "The GGUF's tokenizer gives the MLX tokenizer's ids on every document, so the weights or the model graph differ: convert the fused model again with this llama.cpp, and report it to llama.cpp if it repeats."
          : `The tokenizers differ first in document ${diff.document} of the eval data at token ${diff.position}: the MLX tokenizer gives id ${diff.mlx ?? '(nothing: it ended)'}, the GGUF's ${diff.gguf ?? '(nothing: it ended)'}; the GGUF's tokenizer is not the model's, so check the converter's tokenizer support for this model.`
    }
    found.push({
      level: 'warning',
      output: o.name,
      title: `${o.name} does not reproduce base + adapters`,
      text: `Its mean KL divergence from base + adapters is ${kld(o.quality.meanKld)} (top-1 agreement ${percent(o.quality.agreement)}), above the ${CONVERSION_KLD_THRESHOLD} a faithful 16-bit conversion stays under (the 16-bit rounding of the reference's log-probabilities alone costs about that on llama.cpp's own 8B table). ${cause}`
    })
  }
  return found
}

/**
 * Whether the fuse kept the adapter's effect, from the figures alone: the base without adapters is
 * `adapter.meanKld` away from the reference, so an output more than half that far kept less than
 * half of what the adapters do. The de-quantized evidence is the MLX output itself when it is not
 * quantized, else a 16-bit GGUF (converted from the de-quantized fuse).
 */
export function fusionAdvice(
  mlxQuantized: boolean,
  outputs: readonly MeasuredOutput[],
  adapter: QualityFigures
): Diagnosis[] {
  const mlx = outputs.find(o => o.kind === 'mlx')
  if (!mlx?.quality) return []
  const effect = adapter.meanKld
  if (effect <= CONVERSION_KLD_THRESHOLD) {
    return [
      {
        level: 'notice',
        title: 'The adapters barely change the base on this eval data',
        text: `The base without them is only ${kld(effect)} (mean KL divergence) from base + adapters, within the rounding of the reference itself, so whether the fuse kept the adapters cannot be told on this data: evaluate on the data the adapters were trained for.`
      }
    ]
  }
  const lost = (q: OutputQuality): boolean => q.meanKld > effect / 2
  if (!lost(mlx.quality)) return []
  const kept = (q: OutputQuality): string =>
    `${percent(Math.max(0, 1 - q.meanKld / effect))} of the adapters' effect kept (mean KL divergence ${kld(q.meanKld)} from base + adapters, the base alone ${kld(effect)})`
  const dequantized = !mlxQuantized
    ? mlx
    : outputs.find(o => o.kind === 'gguf' && SIXTEEN_BIT.has(o.name) && o.quality)
  if (mlxQuantized && dequantized?.quality && !lost(dequantized.quality)) {
    return [
      {
        level: 'warning',
        output: 'mlx',
        title: 'The quantized fuse lost the adapters; the de-quantized one kept them',
        text: `The MLX output has ${kept(mlx.quality)}; the de-quantized fuse (${dequantized.name}) has ${kept(dequantized.quality)}. Re-quantizing the fused weights rounds the adapters' change away: set dequantize: true (and quantize-bits to re-quantize the whole fused model, if it must be small).`
      }
    ]
  }
  if (dequantized?.quality) {
    return [
      {
        level: 'warning',
        output: 'mlx',
        title: 'The fuse itself lost the adapters',
        text: `The MLX output has ${kept(mlx.quality)}${dequantized === mlx ? '' : `, and the de-quantized fuse (${dequantized.name}) ${kept(dequantized.quality)}`}: the fused model does not behave like the base with the adapters loaded, whatever its precision. Check that this mlx-lm fuses these adapters (fine-tune type, keys, scale), or serve the base with the adapters.`
      }
    ]
  }
  return [
    {
      level: 'warning',
      output: 'mlx',
      title: 'The quantized fuse lost the adapters',
      text: `The MLX output has ${kept(mlx.quality)}. Whether the quantization or the fuse is why shows in a de-quantized fuse: run again with dequantize: true, or with F16 among the gguf types.`
    }
  ]
}

function summary(
  req: QualityRequest,
  reference: Reference,
  adapter: QualityFigures,
  seconds: number
): QualitySummary {
  return {
    evalData: {
      path: req.data.file,
      format: req.data.format,
      documents: req.data.documents.length,
      sha256: req.sha256,
      bytes: req.bytes
    },
    chunking: {
      context: reference.nCtx,
      chunks: reference.nChunk,
      maxTokens: req.chunking.evalTokens,
      tokens: reference.tokens,
      scoredTokens: reference.scored,
      bosReplaced: reference.addBos
    },
    reference: {
      ppl: reference.ppl,
      vocabulary: reference.nVocab,
      bytes: Number(reference.bytes)
    },
    adapterEffect: { meanKld: adapter.meanKld, agreement: adapter.sameTop, ppl: adapter.ppl },
    conversionThreshold: CONVERSION_KLD_THRESHOLD,
    seconds
  }
}
