/**
 * The MLX stage, which owns every fuse: the MLX output (fuse, and re-quantize when asked, into
 * staging, inspect, then move into place), and for the GGUF stage a full-precision model.
 */
import path from 'node:path'
import { diagnose } from './diagnose.js'
import type { Workspace } from '../core/workspace.js'
import { measurePath } from '../core/size.js'
import type {
  Diagnosis,
  FullPrecisionSource,
  FuseFacts,
  MeasuredOutput,
  MlxQuantization,
  StageResult,
  PackedStats
} from '../core/types.js'
import { readModelConfig } from './model-config.js'
import { runConvert, runFuse, type FuseRequest } from './fuse.js'
import { bitsPerWeight, describePrecision, estimateFullPrecisionBytes } from './precision.js'
import { checkDequantizeSupport } from './python.js'
import { inspectWeights } from './weights.js'

export interface MlxPlan {
  readonly fuse: Readonly<FuseRequest>
  readonly outputDir: string
  readonly quantizeBits: number | null
  readonly quantizeGroupSize: number
  /** Keep a full-precision copy of the fuse for the GGUF stage, when one is made anyway. */
  readonly keepFullPrecision: boolean
  readonly baseQuantization: Readonly<MlxQuantization> | null
}

export interface MlxResult extends StageResult {
  facts: FuseFacts
  /**
   * The full-precision fuse kept for the GGUF stage (keepFullPrecision): the output itself, or
   * the staging copy a re-quantization was made from; null when the fuse itself is quantized.
   */
  kept: FullPrecisionSource | null
  /** The weights mlx_lm fuse wrote, before any re-quantization. */
  fusedStats: PackedStats
}

/** What the MLX stage hands the GGUF stage: the model to convert, and how it was made. */
export interface HandOff extends StageResult {
  source: FullPrecisionSource
}

/**
 * The folder name of the de-quantized fuse made for GGUF, the same in every run: without a name
 * in the model card the converter names the model after its folder (general.name; ggml-org/llama.cpp
 * 80fb11ac, conversion/base.py, prepare_metadata).
 */
const FULL_PRECISION = 'fused-full-precision'

export interface Inspected {
  quantization: MlxQuantization
  stats: PackedStats
  precision: string
  bytes: number
  files: number
}

export async function inspectModel(dir: string): Promise<Inspected> {
  const config = await readModelConfig(dir)
  const stats = await inspectWeights(dir, config)
  const { bytes, files } = await measurePath(dir)
  const precision = describePrecision(config.quantization, stats, config.layerBits)
  return { quantization: config.quantization, stats, precision, bytes, files }
}

export async function produceMlx(plan: MlxPlan, ws: Workspace): Promise<MlxResult> {
  const req = plan.fuse
  const commands: MlxResult['commands'] = []
  const fused = await ws.stage(plan.outputDir, 'fuse')
  const staged = [fused]
  try {
    commands.push({ what: 'Fuse', argv: await runFuse(req, fused) })
    await ws.wrote(fused)
    const first = await inspectModel(fused)
    let final = fused
    let finalInfo = first
    let kept: FullPrecisionSource | null = null
    let requantized: FuseFacts['requantized'] = null
    if (plan.quantizeBits && !first.stats.quantized) {
      const converted = await ws.stage(plan.outputDir, 'quantized')
      staged.push(converted)
      const argv = await runConvert(
        req,
        fused,
        converted,
        plan.quantizeBits,
        plan.quantizeGroupSize
      )
      commands.push({ what: 'Re-quantize', argv })
      await ws.wrote(converted)
      finalInfo = await inspectModel(converted)
      requantized = {
        bits: plan.quantizeBits,
        groupSize: plan.quantizeGroupSize,
        bytes: finalInfo.bytes
      }
      final = converted
      if (plan.keepFullPrecision) kept = { dir: fused, owned: fused, stats: first.stats }
      else {
        await ws.remove(fused)
      }
    } else if (plan.keepFullPrecision && !first.stats.quantized) {
      // the output itself is full precision: converted as it is, never removed
      kept = { dir: plan.outputDir, owned: null, stats: first.stats }
    }
    await ws.promote(final, plan.outputDir)
    const output = mlxOutput(plan.outputDir, finalInfo)
    const facts: FuseFacts = {
      baseModel: req.model,
      baseQuantization: plan.baseQuantization,
      fused: {
        quantization: first.quantization,
        stats: first.stats,
        bytes: first.bytes,
        precision: first.precision
      },
      requantized,
      dequantize: req.dequantize,
      quantizeBits: plan.quantizeBits,
      quantizeGroupSize: plan.quantizeGroupSize
    }
    return {
      outputs: [output],
      commands,
      diagnoses: diagnose(facts),
      notes: [],
      facts,
      kept,
      fusedStats: first.stats
    }
  } catch (error) {
    return ws.failed(error, ...staged)
  }
}

/**
 * The full-precision model the GGUF stage converts: the fuse kept for it, or, when the MLX output
 * is quantized (the converter reads no MLX-quantized weights), a second fuse, de-quantized, staged
 * beside `ggufDir` on the file system the conversion writes to. The GGUF stage owns a staged
 * model from here on.
 */
export async function handOverFullPrecision(
  plan: MlxPlan,
  mlx: MlxResult,
  ggufDir: string,
  ws: Workspace
): Promise<HandOff> {
  const made: StageResult = { outputs: [], commands: [], diagnoses: [], notes: [] }
  if (mlx.kept) return { ...made, source: mlx.kept }
  checkDequantizeSupport(plan.fuse.env, true)
  const staging = await ws.stage(ggufDir, 'fuse')
  try {
    // The real peak: the 16-bit fuse and its 16-bit GGUF exist together until the conversion ends.
    const need = 2 * estimateFullPrecisionBytes(mlx.fusedStats)
    await ws.ensureRoom(staging, need, 'the de-quantized fuse for GGUF and its 16-bit conversion')
    const dir = path.join(staging, FULL_PRECISION)
    const argv = await runFuse({ ...plan.fuse, dequantize: true }, dir)
    made.commands.push({ what: 'Fuse for GGUF (de-quantized)', argv })
    await ws.wrote(dir)
    const bits = plan.baseQuantization?.bits ?? mlx.facts.fused.quantization.bits
    if (bits !== null) made.diagnoses.push(roundingNote(bits))
    return { ...made, source: { dir, owned: staging, stats: await inspectWeights(dir) } }
  } catch (error) {
    return ws.failed(error, staging)
  }
}

/** GGUF files made from a quantized base carry its rounding: a full-precision base is better. */
function roundingNote(bits: number): Diagnosis {
  return {
    level: 'notice',
    title: `The GGUF files are re-quantized from ${bits}-bit weights`,
    text: `The base model was ${bits}-bit, so the de-quantized fuse that llama.cpp converts carries ${bits}-bit rounding, and each GGUF type rounds it again. A full-precision base model gives better GGUF quality.`
  }
}

/** The MLX output as measured in its final folder. */
function mlxOutput(dir: string, info: Inspected): MeasuredOutput {
  return {
    name: 'mlx',
    kind: 'mlx',
    path: dir,
    bytes: info.bytes,
    files: info.files,
    format: `MLX safetensors, ${info.precision}`,
    parameters: info.stats.parameters,
    bitsPerWeight: bitsPerWeight(info.bytes, info.stats.parameters),
    bytesByDtype: info.stats.bytesByDtype
  }
}
