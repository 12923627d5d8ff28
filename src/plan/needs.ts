/**
 * What a run needs of the machine, computed once from the base's headers and the run's inputs:
 * the doctor's first log group states it and the plan refuses on it, so the two never differ.
 * The base's config.json and weight headers are read once here and handed on.
 */
import { readModelConfig, type ModelConfig } from '../mlx/model-config.js'
import { evalChunking, modelContextLength, type EvalChunking } from '../quality/data.js'
import { referenceFileBytes } from '../quality/reference.js'
import { ActionError } from '../core/types.js'
import { estimateFullPrecisionBytes } from '../mlx/precision.js'
import { inspectWeights, type WeightInspection } from '../mlx/weights.js'

/** What the fuse needs: disk for its outputs and, about, its size in memory. */
export interface FuseNeeds {
  readonly fusedBytes: number
  readonly diskBytes: number
  /**
   * About the memory the largest fuse of the run holds: mlx-lm 0.32 keeps the whole fused model
   * in memory while it writes it (ml-explore/mlx-lm commit 7283fb34: `save` honours the
   * `donate_model=False` that fuse.py passes). Measured with mlx-lm 0.32.2 (MLX CPU backend) on a
   * 542M-parameter llama: a de-quantizing fuse of its 4-bit base (dequantize, or the GGUF path's
   * own fuse) peaked at 2.13 GB resident for a 1.08 GB 16-bit model, so it counts twice the
   * 16-bit model, read from the base's tensors; a fuse of its bf16 base peaked at 1.24 GB, so a
   * full-precision base counts the 16-bit model once, and a fuse kept quantized the base's tensors.
   */
  readonly memoryBytes: number
  /** What that fuse is, for messages: `the de-quantized fuse`, `the fuse`. */
  readonly memoryWhat: string
}

/** A run's needs: the fuse's, and what they are for, as the doctor and the refusals say it. */
export interface RunNeeds extends FuseNeeds {
  /** What the disk figure covers: `the fused model` (and `its GGUF conversion`). */
  readonly diskWhat: string
  /** The de-quantized fuse is there only because of gguf (the fix then names that input). */
  readonly forGguf: boolean
  /** The quality reference's chunking and size (eval-data), counted in diskBytes; else null. */
  readonly quality: QualityNeeds | null
}

/** What the quality measurements need: the chunking, and the reference file it makes. */
export interface QualityNeeds {
  readonly chunking: EvalChunking
  /** The vocabulary config.json states: the reference keeps a log-probability for each entry. */
  readonly nVocab: number
  /** The reference file at most (every chunk eval-tokens allows), exact for that many chunks. */
  readonly referenceBytes: number
}

/** The inputs the needs depend on. */
export interface NeedsInputs {
  readonly dequantize: boolean
  readonly quantizeBits: number | null
  /** GGUF outputs are wanted (the gguf input is set). */
  readonly gguf: boolean
  /** eval-tokens when eval-data is set (the quality reference is made), else null. */
  readonly evalTokens?: number | null
  /** gguf-adapter: the base's own 16-bit GGUF is an output too (de-quantized first when quantized). */
  readonly ggufAdapter?: boolean
}

/** The base as read once: its config.json, its weight headers and the run's needs from them. */
export interface BaseReading {
  readonly dir: string
  readonly config: ModelConfig
  readonly stats: WeightInspection
  readonly needs: RunNeeds
}

/**
 * The pre-flight estimate checked before any fuse: the fused model (full precision when
 * de-quantized or never quantized, else the base's tensors) and, with quantize-bits, room for the
 * re-quantized copy beside it.
 */
export function fuseNeeds(
  stats: Parameters<typeof estimateFullPrecisionBytes>[0] & { experts?: boolean },
  dequantize: boolean,
  quantizeBits: number | null,
  gguf = false
): FuseNeeds {
  const full = estimateFullPrecisionBytes(stats)
  const fused = dequantize || !stats.quantized ? full : stats.tensorBytes
  const mlx = fused + (quantizeBits ? fused : 0)
  // The GGUF path's peak: its 16-bit GGUF beside the MLX output (and beside a de-quantized fuse
  // when the fuse stayed quantized); the full-precision source is removed once converted. Stacked
  // experts read from the MLX output itself are first copied per expert (src/gguf/unstack.ts).
  const ggufPeak = gguf ? full + (fused === full ? (stats.experts ? full : 0) : full) : 0
  const dequantizing = stats.quantized && (dequantize || gguf)
  const memoryBytes = dequantizing ? 2 * full : stats.quantized ? stats.tensorBytes : full
  const memoryWhat = dequantizing ? 'the de-quantized fuse' : 'the fuse'
  return { fusedBytes: fused, diskBytes: mlx + ggufPeak, memoryBytes, memoryWhat }
}

/** The run's needs for a base with these weights (and, with eval-data, this quality reference). */
export function runNeeds(
  stats: Parameters<typeof fuseNeeds>[0] & { quantized: boolean },
  inputs: NeedsInputs,
  quality: QualityNeeds | null = null
): RunNeeds {
  const fuse = fuseNeeds(stats, inputs.dequantize, inputs.quantizeBits, inputs.gguf)
  const what = inputs.ggufAdapter
    ? 'the fused model, its GGUF conversion and the base GGUF'
    : inputs.gguf
      ? 'the fused model and its GGUF conversion'
      : 'the fused model'
  // gguf-adapter keeps the base's 16-bit GGUF, made beside a de-quantized copy of a quantized base.
  const full = estimateFullPrecisionBytes(stats)
  const adapterBytes = inputs.ggufAdapter ? full + (stats.quantized ? full : 0) : 0
  return {
    ...fuse,
    // The reference is made once every output exists, and removed at the run's end.
    diskBytes: fuse.diskBytes + adapterBytes + (quality?.referenceBytes ?? 0),
    diskWhat: quality ? `${what} and the quality reference` : what,
    // Only the GGUF path's own fuse of a quantized base de-quantizes because of gguf.
    forGguf: inputs.gguf && !inputs.dequantize && stats.quantized,
    quality
  }
}

/** The vocabulary config.json states (its text_config's for a multimodal model), or null. */
function vocabSize(raw: unknown): number | null {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
  for (const c of [raw, isObject(raw) ? raw.text_config : undefined]) {
    if (isObject(c) && typeof c.vocab_size === 'number' && c.vocab_size > 0) return c.vocab_size
  }
  return null
}

/**
 * The quality measurements' chunking (context 512, or the model's own when smaller; eval-tokens
 * in whole chunks) and the reference file's size at most, from the base's config.json.
 */
export function qualityNeeds(config: ModelConfig, evalTokens: number): QualityNeeds {
  const nVocab = vocabSize(config.raw)
  if (nVocab === null) {
    throw new ActionError({
      problem:
        "Input eval-data is set, but the base model's config.json states no vocab_size, so the quality reference's size cannot be known before it is made",
      fix: 'leave eval-data empty for this model'
    })
  }
  const chunking = evalChunking({ evalTokens, modelContext: modelContextLength(config.raw) })
  const bytes = referenceFileBytes(nVocab, chunking.ctx, chunking.maxChunks)
  return { chunking, nVocab, referenceBytes: Number(bytes) }
}

/** Reads the base at `dir` once: config.json, the weight headers, and the needs from them. */
export async function readBase(dir: string, inputs: NeedsInputs): Promise<BaseReading> {
  const config = await readModelConfig(dir)
  const stats = await inspectWeights(dir, config)
  const quality = inputs.evalTokens ? qualityNeeds(config, inputs.evalTokens) : null
  return { dir, config, stats, needs: runNeeds(stats, inputs, quality) }
}

/**
 * {@link readBase} started now, for the doctor and then the plan to await: a failure is raised
 * where the plan awaits it (in its place among the checks), never as an unhandled rejection.
 */
export function startReadingBase(dir: string, inputs: NeedsInputs): Promise<BaseReading> {
  const reading = readBase(dir, inputs)
  reading.catch(() => undefined)
  return reading
}
