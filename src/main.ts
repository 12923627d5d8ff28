/** run(): parse inputs -> plan -> fuse -> gguf -> measure -> budget -> report -> upload. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { publishOutputs } from './artifacts/publish.js'
import { checksumOutputs, withChecksums } from './artifacts/sums.js'
import { checkArtifactNames } from './artifacts/upload.js'
import { unusedTypeBudgets, verdictFor } from './budget.js'
import { diagnose, explainGgufOverBudget } from './diagnose.js'
import { ensureFreeSpace } from './disk.js'
import { produceGguf } from './gguf/pipeline.js'
import { prepareGguf } from './gguf/setup.js'
import { readInputs, type Config } from './inputs.js'
import { validateAdapters } from './mlx/adapters.js'
import { readModelConfig } from './mlx/config.js'
import { checkOutputDir, emptyDir } from './mlx/fuse.js'
import { estimateFullPrecisionBytes } from './mlx/precision.js'
import { produceMlx } from './mlx/produce.js'
import { checkDequantizeSupport, resolveMlxEnv } from './mlx/python.js'
import { inspectWeights } from './mlx/weights.js'
import {
  annotate,
  setOutputs,
  withinBudget,
  writeFailureSummary,
  writeManifest,
  writeSummary,
  type RunReport
} from './report.js'
import { measurePath } from './size.js'
import { ActionError, type MlxQuantization } from './types.js'

export async function run(): Promise<void> {
  try {
    await runAction()
  } catch (error) {
    await fail(error)
  }
}

async function runAction(): Promise<void> {
  const config = await readInputs()
  const adapters = await validateAdapters(config.adapterPath)
  core.info(
    `Adapters: ${adapters.fineTuneType}${adapters.rank ? `, rank ${adapters.rank}` : ''}${adapters.numLayers ? `, ${adapters.numLayers} layers` : ''} (${config.adapterPath}).`
  )
  await checkOutputDir(config.outputDir, 'output-dir', config.overwrite)
  await checkArtifactNames(config.upload, {
    mlx: true,
    gguf: config.gguf?.auto ? 'auto' : (config.gguf?.types ?? [])
  })

  const env = await resolveMlxEnv({ python: config.python, mlxLmVersion: config.mlxLmVersion })
  core.info(`Using mlx-lm ${env.mlxLmVersion} with ${env.python} (Python ${env.pythonVersion}).`)
  checkDequantizeSupport(env, config.dequantize)

  const gguf = config.gguf ? await prepareGguf(config.gguf, config.overwrite) : null
  const base = await precheckBase(config)
  const baseQuantization = base?.quantization ?? null
  if (gguf && baseQuantization?.bits) checkDequantizeSupport(env, true) // the GGUF path re-fuses de-quantized
  if (config.overwrite) {
    await emptyDir(config.outputDir)
    if (gguf) await emptyDir(gguf.config.dir)
  }

  const req = {
    env,
    model: config.baseModelDir ?? config.baseModel,
    adapterPath: config.adapterPath,
    dequantize: config.dequantize,
    hfToken: config.hfToken
  }
  const mlx = await produceMlx(req, {
    outputDir: config.outputDir,
    quantizeBits: config.quantizeBits,
    quantizeGroupSize: config.quantizeGroupSize,
    keepFullPrecision: gguf !== null,
    baseQuantization
  })

  const outputs = [mlx.output]
  const commands = [...mlx.commands]
  const diagnoses = diagnose(mlx.facts)
  const notes: string[] = []
  let ggufManifest: Record<string, unknown> | null = null
  if (gguf) {
    const source = {
      fullPrecisionDir: mlx.fullPrecisionDir,
      baseBits: baseQuantization?.bits ?? mlx.facts.fused.quantization.bits,
      fusedStats: mlx.facts.fused.stats
    }
    const made = await produceGguf(gguf, source, req, config.budgets).catch(
      async (error: unknown) => {
        await disposeFullPrecision(mlx.fullPrecisionDir, config.outputDir, null)
        throw error
      }
    )
    await disposeFullPrecision(mlx.fullPrecisionDir, config.outputDir, made.keptIntermediates)
    outputs.push(...made.outputs)
    commands.push(...made.commands)
    diagnoses.push(...made.diagnoses)
    notes.push(...made.notes)
    ggufManifest = {
      types: gguf.types,
      auto: made.auto,
      dir: gguf.config.dir,
      intermediates: made.keptIntermediates,
      convertPython: gguf.convertPython
    }
  }
  for (const unused of unusedTypeBudgets(
    config.budgets,
    outputs.filter(o => o.kind === 'gguf').map(o => o.name)
  )) {
    core.warning(
      unused.target === 'gguf'
        ? `size-budget entry "${unused.text}" is for GGUF files and this run makes none; it is ignored here.`
        : `size-budget entry "${unused.text}" names a GGUF type this run does not produce; it is ignored here.`
    )
  }
  const checksums = await checksumOutputs(outputs)
  const verdicts = outputs.map(o => verdictFor(o, config.budgets))
  const report: RunReport = {
    baseModel: config.baseModel,
    baseBytes: base?.bytes ?? null,
    adapterPath: config.adapterPath,
    mlxLm: { version: env.mlxLmVersion, python: env.python, source: env.source },
    llamaCpp: gguf
      ? { version: gguf.llama.version, commit: gguf.llama.commit, dir: gguf.llama.dir }
      : null,
    commands,
    outputs: await withChecksums(outputs, checksums),
    verdicts,
    diagnoses: [...diagnoses, ...explainGgufOverBudget(outputs, verdicts)],
    notes,
    onOverBudget: config.onOverBudget,
    manifestPath: config.manifestPath
  }
  await writeManifest(report, {
    fuse: {
      dequantize: config.dequantize,
      quantizeBits: config.quantizeBits,
      quantizeGroupSize: config.quantizeGroupSize,
      adapters
    },
    gguf: ggufManifest
  })
  setOutputs(report)
  annotate(report)
  await writeSummary(report)
  await publishOutputs(config.upload, report, checksums)
  if (!withinBudget(report.verdicts) && config.onOverBudget === 'fail') {
    const over = report.verdicts.filter(v => v.status === 'over').map(v => v.output)
    core.setFailed(
      `${over.join(', ')} ${over.length === 1 ? 'is' : 'are'} over the size budget; see the job summary for sizes and why, then shrink the output or raise size-budget.`
    )
  }
}

/** A full-precision fuse kept only for the GGUF path is an intermediate: kept on request, else removed. */
async function disposeFullPrecision(
  dir: string | null,
  outputDir: string,
  keptIn: string | null
): Promise<void> {
  if (!dir || dir === outputDir) return
  if (keptIn) await fs.rename(dir, path.join(keptIn, 'fused-full-precision'))
  else await fs.rm(dir, { recursive: true, force: true })
}

/** Reads a local base's precision and size, and checks the fuse will fit on disk, before any fuse. */
async function precheckBase(
  config: Config
): Promise<{ quantization: MlxQuantization; bytes: number } | null> {
  if (!config.baseModelDir) return null
  const base = await readModelConfig(config.baseModelDir)
  const stats = await inspectWeights(config.baseModelDir, base)
  const fused =
    config.dequantize || !stats.quantized ? estimateFullPrecisionBytes(stats) : stats.tensorBytes
  const requant = config.quantizeBits ? fused : 0
  await ensureFreeSpace(config.outputDir, fused + requant, 'the fused model')
  return { quantization: base.quantization, bytes: (await measurePath(config.baseModelDir)).bytes }
}

async function fail(error: unknown): Promise<void> {
  const message =
    error instanceof ActionError
      ? error.message
      : `Unexpected error: ${(error as Error)?.stack ?? String(error)}`
  core.setFailed(message)
  if (error instanceof ActionError && error.exitCode !== undefined && error.exitCode > 0) {
    process.exitCode = error.exitCode
  }
  await writeFailureSummary(message)
}
