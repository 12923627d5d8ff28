/** Data that flows forward through run(): each stage adds to it, none reaches back. */

/** Re-exported so existing imports keep working; the class lives in core/errors.ts. */
export { ActionError } from './errors.js'

/**
 * One budget entry as the user wrote it, e.g. `gguf=4GB` (here, not in src/budget: the config
 * holds the parsed entries). Everything else about budgets is in src/budget.
 */
export interface BudgetEntry {
  /** `all`, `mlx`, `gguf` or a GGUF type name in upper case. */
  target: string
  bytes: number
  /** The entry as written, for messages. */
  text: string
}

/**
 * A growth limit as the user wrote it, e.g. `gguf=+5%` or `mlx=+200MB`: how much an output may
 * grow against its baseline (src/baseline). It judges only where a baseline exists.
 */
export interface GrowthEntry {
  /** As {@link BudgetEntry.target}. */
  target: string
  /** `percent`: of the baseline's size, in hundredths of a percent (`+0.5%` is 50). */
  growth: { kind: 'percent'; hundredths: number } | { kind: 'bytes'; bytes: number }
  /** The entry as written, for messages. */
  text: string
}

/** Weight precision of an MLX model, read from config.json and the safetensors headers. */
export interface MlxQuantization {
  /** Global bits from config.json `quantization`, or null when not quantized. */
  bits: number | null
  groupSize: number | null
  mode: string | null
}

/** What the safetensors headers of an MLX model say about its weights. */
export interface WeightStats {
  /** Model parameters, packed weights counted by their own bit width. */
  parameters: number
  /** Bytes of tensor data per safetensors dtype, e.g. { U32: 1200, BF16: 400 }. */
  bytesByDtype: Record<string, number>
  /** Bytes of tensor data in all shards (headers excluded). */
  tensorBytes: number
  /** True when any weight is stored packed (U32 with scales). */
  quantized: boolean
  /** The widest float dtype among the tensors, e.g. BF16, F16, F32; null when none. */
  floatDtype: string | null
}

/** WeightStats with the packed part of the tensor data: what the size estimates need. */
export interface PackedStats extends WeightStats {
  /** Parameters stored packed. */
  packedParameters: number
  /** Bytes of packed weights plus their scales and biases. */
  packedBytes: number
}

/** A model output after it is written and measured. */
export interface MeasuredOutput {
  /** `mlx` or a GGUF type name in upper case. */
  name: string
  kind: 'mlx' | 'gguf'
  /** Directory (mlx) or file (gguf). */
  path: string
  bytes: number
  files: number
  /** Plain-words format, e.g. `MLX safetensors, 4-bit affine (group 64)` or `GGUF Q4_K_M`. */
  format: string
  parameters: number | null
  /** bytes x 8 / parameters, or null when parameters are unknown. */
  bitsPerWeight: number | null
  /** sha256 hex of a single-file output. */
  sha256?: string
  /** sha256 hex of each file of a directory output (MLX), by path relative to it. */
  sha256Files?: Record<string, string>
  /**
   * A GGUF type split with gguf-split: its shards in order (`path` is the first one, the file
   * llama.cpp loads; `bytes` and `files` are the shards' total and count).
   */
  shards?: Array<{ path: string; bytes: number; sha256: string }>
  /**
   * A GGUF output's Ollama Modelfile beside it in gguf-dir (`<stem>-<TYPE>.Modelfile`): a small
   * text file, listed here but not measured against any budget.
   */
  modelfile?: string
  /** Bytes of tensor data per stored dtype (the MLX output's dtype mix), e.g. { U32: 1200, BF16: 80 }. */
  bytesByDtype?: Record<string, number>
}

/** A plain-words finding about what the fuse produced and why. */
export interface Diagnosis {
  level: 'notice' | 'warning'
  title: string
  text: string
  /** The output it explains (`mlx` or a GGUF type), when it is about one. */
  output?: string
}

/** An external command that produced an output, as argv, for the summary and the manifest. */
export interface Command {
  what: string
  argv: string[]
}

/** What each stage of run() returns; run() merges them in one place ({@link mergeStages}). */
export interface StageResult {
  outputs: MeasuredOutput[]
  commands: Command[]
  diagnoses: Diagnosis[]
  notes: string[]
}

export function mergeStages(...stages: ReadonlyArray<Partial<StageResult>>): StageResult {
  return {
    outputs: stages.flatMap(s => s.outputs ?? []),
    commands: stages.flatMap(s => s.commands ?? []),
    diagnoses: stages.flatMap(s => s.diagnoses ?? []),
    notes: stages.flatMap(s => s.notes ?? [])
  }
}

/**
 * The full-precision model the MLX stage hands the GGUF stage to convert: the MLX output itself
 * (not owned: never removed), a staging copy a re-quantization was made from, or a de-quantized
 * fuse made for the conversion (owned: the GGUF stage removes it, or keeps it with the
 * intermediates).
 */
export interface FullPrecisionSource {
  /** The model folder to convert. */
  readonly dir: string
  /** The staging folder that is or holds `dir`, owned by the GGUF stage; null for the MLX output. */
  readonly owned: string | null
  /** The weights of `dir`. */
  readonly stats: PackedStats
}

/** What the MLX stage fused and measured: the facts diagnose() explains. */
export interface FuseFacts {
  baseModel: string
  /** The base's quantization when it could be read (a local base), else null. */
  baseQuantization: MlxQuantization | null
  /** What mlx_lm fuse wrote, before any re-quantization. */
  fused: { quantization: MlxQuantization; stats: WeightStats; bytes: number; precision: string }
  /** Set when quantize-bits re-quantized the fused model. */
  requantized: { bits: number; groupSize: number; bytes: number } | null
  dequantize: boolean
  quantizeBits: number | null
  quantizeGroupSize: number
}
