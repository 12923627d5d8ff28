/** The MLX output: fuse (and re-quantize when asked) into staging, inspect, then move into place. */
import { promises as fs } from 'node:fs'
import { diagnose } from './diagnose.js'
import type { DiskLedger } from '../core/disk.js'
import { discard, makeStaging, promote } from '../core/folders.js'
import { measurePath } from '../core/size.js'
import type {
  FullPrecisionSource,
  FuseFacts,
  MeasuredOutput,
  MlxQuantization,
  StageResult,
  PackedStats
} from '../core/types.js'
import { readModelConfig } from './config.js'
import { runConvert, runFuse, type FuseRequest } from './fuse.js'
import { bitsPerWeight, describePrecision } from './precision.js'
import { inspectWeights } from './weights.js'

export interface MlxPlan {
  outputDir: string
  quantizeBits: number | null
  quantizeGroupSize: number
  /** Keep a full-precision copy of the fuse for the GGUF path, when one is made anyway. */
  keepFullPrecision: boolean
  baseQuantization: MlxQuantization | null
}

export interface MlxResult extends StageResult {
  facts: FuseFacts
  /** What the GGUF path converts (it owns a kept staging copy from here on). */
  source: FullPrecisionSource
}

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

export async function produceMlx(
  req: FuseRequest,
  plan: MlxPlan,
  ledger: DiskLedger
): Promise<MlxResult> {
  const commands: MlxResult['commands'] = []
  const fused = await makeStaging(plan.outputDir, 'fuse')
  const staged = [fused]
  try {
    commands.push({ what: 'Fuse', argv: await runFuse(req, fused) })
    await ledger.wrote(fused)
    const first = await inspectModel(fused)
    let final = fused
    let finalInfo = first
    let fullPrecisionDir: string | null = null
    let requantized: FuseFacts['requantized'] = null
    if (plan.quantizeBits && !first.stats.quantized) {
      const converted = await makeStaging(plan.outputDir, 'quantized')
      staged.push(converted)
      const argv = await runConvert(
        req,
        fused,
        converted,
        plan.quantizeBits,
        plan.quantizeGroupSize
      )
      commands.push({ what: 'Re-quantize', argv })
      await ledger.wrote(converted)
      finalInfo = await inspectModel(converted)
      requantized = {
        bits: plan.quantizeBits,
        groupSize: plan.quantizeGroupSize,
        bytes: finalInfo.bytes
      }
      final = converted
      if (plan.keepFullPrecision) fullPrecisionDir = fused
      else {
        await fs.rm(fused, { recursive: true, force: true })
        ledger.removed(fused)
      }
    } else if (plan.keepFullPrecision && !first.stats.quantized) {
      fullPrecisionDir = plan.outputDir // the output itself is full precision: reuse it
    }
    await promote(final, plan.outputDir)
    ledger.moved(final, plan.outputDir)
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
    const source: FullPrecisionSource = {
      dir: fullPrecisionDir,
      owned: fullPrecisionDir !== null && fullPrecisionDir !== plan.outputDir,
      baseBits: plan.baseQuantization?.bits ?? first.quantization.bits,
      fusedStats: first.stats
    }
    return { outputs: [output], commands, diagnoses: diagnose(facts), notes: [], facts, source }
  } catch (error) {
    await discard(...staged)
    for (const dir of staged) ledger.removed(dir)
    throw error
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
