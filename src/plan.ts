/** The plan: every check that can fail before the output folders change, cheapest first. */
import semver from 'semver'
import { resolveBudgetTypes } from './budget/index.js'
import { ensureFreeSpace } from './core/disk.js'
import { logDoctor } from './doctor.js'
import { checkOutputFolders, exists, type MadeFolders } from './core/folders.js'
import { BASE_OUTPUT, LORA_OUTPUT, planAdapterGguf } from './gguf/adapter.js'
import type { PeftPlan } from './gguf/peft.js'
import type { GgufSetup } from './gguf/pipeline.js'
import { prepareGguf } from './gguf/setup.js'
import { checkBaseTokenizer } from './gguf/source.js'
import { canonicalType } from './gguf/quant-types.js'
// The Hub and artifact clients are loaded with import() where a run uses them, so that they stay
// out of the entry chunk and a run that stops on its inputs starts quickly.
import type { HubBase, HubPlan } from './hub.js'
import { DEFAULT_LLAMA_CPP_REF, toolCacheRoot, type Config } from './core/config.js'
import { validateAdapters, type AdapterInfo } from './mlx/adapters.js'
import type { Machine } from './core/machine.js'
import { checkRemoteCode } from './mlx/model-config.js'
import type { MlxPlan } from './mlx/produce.js'
import { checkDequantizeSupport, resolveMlxEnv, type MlxEnv } from './mlx/python.js'
import {
  readBase,
  startReadingBase,
  type BaseReading,
  type NeedsInputs,
  type QualityNeeds,
  type RunNeeds
} from './plan/needs.js'
import { sha256File } from './core/checksum.js'
import { readEvalData, type EvalData } from './quality/data.js'
import { measurePath } from './core/size.js'
import { formatSize } from './core/size.js'
import {
  ActionError,
  type BudgetEntry,
  type GrowthEntry,
  type MlxQuantization,
  type QualityBudgetEntry
} from './core/types.js'
import * as log from './core/log.js'
import path from 'node:path'

/**
 * The base model as every step after the plan reads it: a local folder (base-model's own, or the
 * Hub snapshot a repo id resolved to), its precision and its size.
 */
export interface ResolvedBase {
  readonly dir: string
  readonly quantization: Readonly<MlxQuantization>
  readonly bytes: number
}

/** Everything known and checked before the output folders change; no stage changes it. */
export interface Plan {
  readonly folders: Readonly<MadeFolders>
  readonly adapters: Readonly<AdapterInfo>
  readonly env: Readonly<MlxEnv>
  readonly base: ResolvedBase
  readonly mlx: MlxPlan
  readonly gguf: GgufSetup | null
  readonly budgets: readonly BudgetEntry[]
  /** Growth limits against the baseline, their types resolved as the budgets'. */
  readonly growthBudgets: readonly GrowthEntry[]
  /** With cache-toolchain: one line per environment or build, restored, made or reused, and saved. */
  readonly toolchain: readonly string[]
  readonly qualityBudgets: readonly QualityBudgetEntry[]
  readonly hub: Readonly<HubBase> | null
  /** gguf-adapter: the adapters in PEFT layout, planned (and refused if not LoRA) before any fuse. */
  readonly peft: Readonly<PeftPlan> | null
  /** The quality measurements (eval-data read, chunked and sized), or null without eval-data. */
  readonly quality: QualityPlan | null
}

/** The eval data as read before any fuse, its checksum, and the chunking the base allows. */
export interface QualityPlan extends QualityNeeds {
  readonly data: EvalData
  /** SHA-256 and size of the file read: two runs on the same data compare. */
  readonly sha256: string
  readonly bytes: number
}

/** Every check that can fail before any expensive work, cheapest first. */
export async function preflight(config: Config, machine: Machine): Promise<Plan> {
  // A local base's headers are read once: the doctor states the needs the check below refuses on.
  const local = config.baseModelDir
    ? startReadingBase(config.baseModelDir, needsInputs(config))
    : null
  await logDoctor({
    ...config,
    convertPython: config.gguf?.convertPython ?? null,
    llamaCppDir: config.gguf?.llamaCppDir ?? null,
    llamaCppRef: config.gguf?.llamaCppRef ?? DEFAULT_LLAMA_CPP_REF,
    toolCacheDir: toolCacheRoot(),
    base: local && { dir: config.baseModelDir!, reading: local },
    skipConvert: !config.gguf,
    machine
  })
  const adapters = await validateAdapters(config.adapterPath, config.baseModelDir)
  log.info(
    `Adapters: ${adapters.fineTuneType}${adapters.rank ? `, rank ${adapters.rank}` : ''}${adapters.numLayers ? `, ${adapters.numLayers} layers` : ''} (${config.adapterPath}).`
  )
  const peft = config.gguf?.adapter ? await planAdapterGguf(adapters, config.baseModel) : null
  const folders = await checkOutputFolders(config)
  // The eval data is read and checked now: a bad line fails here, not after the fuse.
  const evalData = config.quality ? await readEvalData(config.quality.evalData) : null
  const { checkArtifactNames } = await import('./artifacts/upload.js')
  await checkArtifactNames(config.upload, {
    mlx: true,
    // With auto or gguf-split the file names are known only later: any <prefix>-*.gguf clashes.
    gguf:
      config.gguf?.auto || config.gguf?.split
        ? 'auto'
        : [...(config.gguf?.types ?? []), ...(peft ? [BASE_OUTPUT, LORA_OUTPUT] : [])]
  })
  // A repo id is resolved and listed now (cheap: 401/403/404 fail here), downloaded further down.
  const hubPlan = config.baseModelDir ? null : await resolveHub(config, folders)
  const env = await resolveMlxEnv({
    python: config.python,
    mlxLmVersion: config.mlxLmVersion,
    cacheToolchain: config.cacheToolchain
  })
  log.info(`Using mlx-lm ${env.mlxLmVersion} with ${env.python} (Python ${env.pythonVersion}).`)
  checkDequantizeSupport(env, config.dequantize)

  const gguf = config.gguf ? await prepareGguf(config.gguf) : null
  if (gguf && config.quality && (!gguf.llama.perplexity || !gguf.llama.tokenize)) {
    throw new ActionError({
      problem: `Input eval-data is set, but the llama.cpp checkout ${gguf.llama.dir} has no llama-perplexity or llama-tokenize to score the GGUF files with`,
      fix: 'use a llama.cpp checkout with tools/perplexity and tools/tokenize (llama-cpp-ref v0.4.0 has both), or leave eval-data empty'
    })
  }
  if (gguf && peft) await checkLoraConverter(gguf.llama.dir)
  // Budget targets name types as this checkout's llama-quantize resolves them (Q4_K -> Q4_K_M).
  const budgets = gguf
    ? resolveBudgetTypes(config.budgets, t => canonicalType(t, gguf.llama.types))
    : config.budgets
  const growthBudgets = gguf
    ? resolveBudgetTypes(config.growthBudgets, t => canonicalType(t, gguf.llama.types))
    : config.growthBudgets
  const qualityBudgets = gguf
    ? resolveBudgetTypes(
        config.qualityBudgets,
        t => canonicalType(t, gguf.llama.types),
        'quality-budget',
        (a, b) => a.metric === b.metric
      )
    : config.qualityBudgets
  const hub = hubPlan
    ? await (await import('./hub.js')).fetchHubBase(hubPlan, machine.freeBytes)
    : null
  if (hub) await validateAdapters(config.adapterPath, hub.snapshotDir) // the adapters fit this base
  // Fuse and every check read a local folder; there is no Hub plan only for a local base-model.
  const reading = await (hub ? readBase(hub.snapshotDir, needsInputs(config)) : local!)
  const baseDir = reading.dir
  const base = await precheckBase(config, reading, hub, env.mlxLmVersion, machine)
  // For GGUF the MLX stage fuses a quantized base a second time, de-quantized
  if (gguf && base.quantization.bits) checkDequantizeSupport(env, true)
  const mlx = mlxPlan(config, fuseRequest(config, env, baseDir), gguf !== null, base)
  // cache-toolchain: what each environment and build did, for the summary.
  const toolchain = [...(env.toolchain ? [env.toolchain] : []), ...(gguf?.toolchain ?? [])]
  const quality = evalData && (await qualityPlan(evalData, reading.needs.quality))
  return {
    folders,
    adapters,
    env,
    base,
    mlx,
    gguf,
    budgets,
    growthBudgets,
    qualityBudgets,
    hub,
    toolchain,
    quality,
    peft
  }
}

async function qualityPlan(data: EvalData, needs: QualityNeeds | null): Promise<QualityPlan> {
  if (needs === null) throw new Error('The base was read without the quality needs.')
  const { sha256, bytes } = await sha256File(data.file)
  return { ...needs, data, sha256, bytes }
}

/** gguf-adapter needs llama.cpp's LoRA converter in the checkout, known before any fuse. */
async function checkLoraConverter(llamaDir: string): Promise<void> {
  const script = path.join(llamaDir, 'convert_lora_to_gguf.py')
  if (await exists(script)) return
  throw new ActionError({
    problem: `Input gguf-adapter is true but the llama.cpp checkout ${llamaDir} has no convert_lora_to_gguf.py`,
    fix: 'use a llama.cpp checkout that has it (any since 2024), or set gguf-adapter to false'
  })
}

/** The inputs the run's disk and memory needs depend on. */
function needsInputs(config: Config): NeedsInputs {
  return {
    dequantize: config.dequantize,
    quantizeBits: config.quantizeBits,
    gguf: config.gguf !== null,
    evalTokens: config.quality?.evalTokens ?? null,
    ggufAdapter: config.gguf?.adapter ?? false
  }
}

/** The Hub's settings, a cache outside the output folders, and the repo resolved and listed. */
async function resolveHub(config: Config, folders: MadeFolders): Promise<HubPlan> {
  const { checkCacheOutside, hubSettings, resolveHubBase } = await import('./hub.js')
  const settings = await hubSettings(config.hfToken)
  await checkCacheOutside(settings, [
    ['output-dir', folders.outputDir],
    ['gguf-dir', folders.ggufDir],
    ['gguf-dir (its .intermediates)', folders.intermediates]
  ])
  return resolveHubBase(config.baseModel, config.revision, settings)
}

function fuseRequest(config: Config, env: MlxEnv, baseDir: string): MlxPlan['fuse'] {
  return {
    env,
    model: baseDir,
    adapterPath: config.adapterPath,
    dequantize: config.dequantize,
    hfToken: config.hfToken,
    trustRemoteCode: config.trustRemoteCode
  }
}

function mlxPlan(
  config: Config,
  fuse: MlxPlan['fuse'],
  gguf: boolean,
  base: ResolvedBase
): MlxPlan {
  return {
    fuse,
    outputDir: config.outputDir,
    quantizeBits: config.quantizeBits,
    quantizeGroupSize: config.quantizeGroupSize,
    keepFullPrecision: gguf,
    baseQuantization: base.quantization
  }
}

/**
 * Checks the base as read once (base-model's folder or the Hub snapshot) and returns its
 * precision and size: its remote code and tokenizer, then that the whole run's disk peak (the
 * fuse, and with GGUF outputs the conversion beside it) and the fuse's memory fit `machine`,
 * before any fuse. The figures are the ones the doctor stated (src/plan/needs.ts).
 */
export async function precheckBase(
  config: Pick<Config, 'baseModel' | 'trustRemoteCode' | 'gguf' | 'outputDir'>,
  reading: BaseReading,
  hub: HubBase | null,
  mlxLmVersion: string,
  machine: Machine
): Promise<ResolvedBase> {
  const { dir, config: base, needs } = reading
  checkRemoteCode(base, config.baseModel, config.trustRemoteCode)
  if (config.gguf) await checkBaseTokenizer(dir, config.baseModel, base.modelType)
  await ensureFreeSpace(config.outputDir, needs.diskBytes, needs.diskWhat, machine.freeBytes)
  checkFuseMemory(needs, mlxLmVersion, machine.totalMemory)
  // A Hub snapshot holds links into the cache's blobs: its size is the targets', measured by hub.ts.
  const bytes = hub ? hub.bytes : (await measurePath(dir)).bytes
  return { dir, quantization: base.quantization, bytes }
}

/** mlx-lm 0.32 and newer keep the whole fused model in memory while fuse writes it (7283fb34). */
function keepsWholeModel(mlxLmVersion: string): boolean {
  // An unreadable version is taken to keep it: the check then errs on the safe side.
  const version = semver.coerce(mlxLmVersion)
  return version === null || semver.gte(version, '0.32.0')
}

/**
 * Refuses, before the first fuse, a fuse that will not fit in the machine's memory: mlx-lm 0.32
 * holds the whole fused model (16-bit when de-quantizing) until it is written, and a machine
 * without that much memory swaps for hours or kills the fuse.
 */
export function checkFuseMemory(needs: RunNeeds, mlxLmVersion: string, totalMemory: number): void {
  if (!keepsWholeModel(mlxLmVersion) || needs.memoryBytes <= totalMemory) return
  const fix = needs.forGguf
    ? 'use a runner with more memory, or drop the gguf input (its conversion needs that de-quantized fuse)'
    : 'use a runner with more memory, or a smaller or quantized base model without dequantize'
  throw new ActionError({
    problem: `Not enough memory for ${needs.memoryWhat}: mlx-lm ${mlxLmVersion} keeps the whole fused model in memory while it writes it, about ${formatSize(needs.memoryBytes)}, but this machine has ${formatSize(totalMemory)} in all`,
    fix
  })
}
