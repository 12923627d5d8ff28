/** run(): parse inputs -> plan -> fuse -> gguf -> measure -> budget -> report -> upload. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { publishOutputs } from './artifacts/publish.js'
import { checksumOutputs, withChecksums } from './artifacts/sums.js'
import { checkArtifactNames } from './artifacts/upload.js'
import { resolveBudgetTypes, unusedTypeBudgets, verdictFor } from './budget.js'
import { diagnose, explainGgufOverBudget } from './diagnose.js'
import { ensureFreeSpace } from './disk.js'
import { fuseNeeds, logDoctor } from './doctor.js'
import { checkOutputFolders, emptyDir, removeTree, type MadeFolders } from './folders.js'
import { produceGguf } from './gguf/pipeline.js'
import { fetchHubBase, hubSettings, resolveHubBase, type HubBase } from './hub.js'
import { prepareGguf } from './gguf/setup.js'
import { DEFAULT_LLAMA_CPP_REF, readInputs, type Config } from './inputs.js'
import { validateAdapters } from './mlx/adapters.js'
import { checkRemoteCode, readModelConfig } from './mlx/config.js'
import { produceMlx } from './mlx/produce.js'
import { checkDequantizeSupport, resolveMlxEnv } from './mlx/python.js'
import { inspectWeights } from './mlx/weights.js'
import {
  annotate,
  setOutputs,
  withinBudget,
  writeFailureManifest,
  writeFailureSummary,
  writeManifest,
  writeSummary,
  type RunReport
} from './report.js'
import { measurePath } from './size.js'
import { ActionError, type MlxQuantization } from './types.js'
import * as log from './log.js'

/** Set once the run may change its output folders: from then on a failure rewrites the manifest. */
interface RunState {
  manifest: { path: string; folders: MadeFolders } | null
}

export async function run(): Promise<void> {
  const state: RunState = { manifest: null }
  try {
    await runAction(state)
  } catch (error) {
    await fail(error, state)
  }
}

async function runAction(state: RunState): Promise<void> {
  const config = await readInputs()
  await logDoctor({
    ...config,
    convertPython: config.gguf?.convertPython ?? null,
    llamaCppDir: config.gguf?.llamaCppDir ?? null,
    llamaCppRef: config.gguf?.llamaCppRef ?? DEFAULT_LLAMA_CPP_REF,
    toolCacheDir: process.env.RUNNER_TOOL_CACHE ?? path.join(os.homedir(), '.cache'),
    skipConvert: !config.gguf
  })
  const adapters = await validateAdapters(config.adapterPath, config.baseModelDir)
  log.info(
    `Adapters: ${adapters.fineTuneType}${adapters.rank ? `, rank ${adapters.rank}` : ''}${adapters.numLayers ? `, ${adapters.numLayers} layers` : ''} (${config.adapterPath}).`
  )
  const folders = await checkOutputFolders(config)
  await checkArtifactNames(config.upload, {
    mlx: true,
    // With auto or gguf-split the file names are known only later: any <prefix>-*.gguf clashes.
    gguf: config.gguf?.auto || config.gguf?.split ? 'auto' : (config.gguf?.types ?? [])
  })
  // A repo id is resolved and listed now (cheap: 401/404 fail here), downloaded in precheckBase.
  const hubPlan = config.baseModelDir
    ? null
    : await resolveHubBase(config.baseModel, config.revision, hubSettings(config.hfToken))
  const env = await resolveMlxEnv({ python: config.python, mlxLmVersion: config.mlxLmVersion })
  log.info(`Using mlx-lm ${env.mlxLmVersion} with ${env.python} (Python ${env.pythonVersion}).`)
  checkDequantizeSupport(env, config.dequantize)

  const gguf = config.gguf ? await prepareGguf(config.gguf) : null
  // Budget targets name types as this checkout's llama-quantize resolves them (Q4_K -> Q4_K_M).
  const budgets = gguf ? resolveBudgetTypes(config.budgets, gguf.llama.types) : config.budgets
  const hub = hubPlan ? await fetchHubBase(hubPlan) : null
  if (hub) config.baseModelDir = hub.snapshotDir // fuse and every check read the local snapshot
  const base = await precheckBase(config, hub)
  const baseQuantization = base?.quantization ?? null
  if (gguf && baseQuantization?.bits) checkDequantizeSupport(env, true) // the GGUF path re-fuses de-quantized
  // From here the output folders change: the manifest says "failed" until the run completes.
  state.manifest = { path: config.manifestPath, folders }
  await writeFailureManifest(config.manifestPath, folders, 'The run has not finished.')
  if (config.overwrite) {
    await emptyDir(config.outputDir)
    if (folders.ggufDir) await emptyDir(folders.ggufDir)
  }

  const req = {
    env,
    model: config.baseModelDir ?? config.baseModel,
    adapterPath: config.adapterPath,
    dequantize: config.dequantize,
    hfToken: config.hfToken,
    trustRemoteCode: config.trustRemoteCode
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
    const made = await produceGguf(gguf, source, req, budgets).catch(async (error: unknown) => {
      await disposeFullPrecision(mlx.fullPrecisionDir, config.outputDir, null)
      throw error
    })
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
    budgets,
    outputs.filter(o => o.kind === 'gguf').map(o => o.name)
  )) {
    core.warning(
      unused.target === 'gguf'
        ? `size-budget entry "${unused.text}" is for GGUF files and this run makes none; it is ignored here.`
        : `size-budget entry "${unused.text}" names a GGUF type this run does not produce; it is ignored here.`
    )
  }
  const checksums = await checksumOutputs(outputs)
  const verdicts = outputs.map(o => verdictFor(o, budgets))
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
  // The manifest and the summary first: the verdict outputs only once both are written.
  await writeManifest(report, {
    folders,
    fuse: {
      dequantize: config.dequantize,
      quantizeBits: config.quantizeBits,
      quantizeGroupSize: config.quantizeGroupSize,
      adapters
    },
    baseModelSource: hub && {
      repo: hub.repo,
      revision: hub.revision,
      commit: hub.commit,
      endpoint: hub.endpoint,
      snapshot: hub.snapshotDir,
      downloadedBytes: hub.downloadedBytes
    },
    gguf: ggufManifest
  })
  await writeSummary(report)
  setOutputs(report)
  annotate(report)
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
  else await removeTree(dir)
}

/** Reads a local base's precision and size, and checks the fuse will fit on disk, before any fuse. */
async function precheckBase(
  config: Config,
  hub: HubBase | null
): Promise<{ quantization: MlxQuantization; bytes: number } | null> {
  if (!config.baseModelDir) return null
  const base = await readModelConfig(config.baseModelDir)
  checkRemoteCode(base, config.baseModel, config.trustRemoteCode)
  const stats = await inspectWeights(config.baseModelDir, base)
  const needs = fuseNeeds(stats, config.dequantize, config.quantizeBits)
  await ensureFreeSpace(config.outputDir, needs.diskBytes, 'the fused model')
  // A Hub snapshot holds links into the cache's blobs: its size is the targets', measured by hub.ts.
  const bytes = hub ? hub.bytes : (await measurePath(config.baseModelDir)).bytes
  return { quantization: base.quantization, bytes }
}

async function fail(error: unknown, state: RunState): Promise<void> {
  const message =
    error instanceof ActionError
      ? error.message
      : `Unexpected error: ${(error as Error)?.stack ?? String(error)}`
  core.setFailed(message)
  if (error instanceof ActionError && error.exitCode !== undefined && error.exitCode > 0) {
    process.exitCode = error.exitCode
  }
  if (state.manifest) {
    await writeFailureManifest(state.manifest.path, state.manifest.folders, message).catch(
      (e: unknown) => core.warning((e as Error).message)
    )
  }
  await writeFailureSummary(message)
}
