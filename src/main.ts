/**
 * run(): parse inputs -> plan -> fuse (the MLX stage hands GGUF a full-precision model) -> the
 * quality reference (eval-data) -> gguf (auto may score with it) -> quality -> measure -> budget -> report -> model card -> upload -> Hub -> pull-request
 * comment.
 */
import * as core from '@actions/core'
import { uploadArtifacts } from './artifacts/upload-step.js'
import { checksumOutputs, withChecksums, type Checksums } from './artifacts/sums.js'
import {
  explainGgufOverBudget,
  judge,
  judgeGrowth,
  overBudgetFailure,
  unusedBudgetDiagnoses
} from './budget/index.js'
import {
  baselineDeltas,
  findBaseline,
  growthBaseline,
  keepBaseline,
  type FoundBaseline
} from './baseline/baseline.js'
import { commentOnFailure, commentOnPullRequest, earlyCommentConfig } from './comment/index.js'
import type { MadeFolders } from './core/folders.js'
import { thisMachine, type Machine } from './core/machine.js'
import { toolchainNote } from './core/tool-cache.js'
import { emptyDir, Workspace } from './core/workspace.js'
import { produceGguf, type GgufResult, type GgufSetup } from './gguf/pipeline.js'
import type { AutoQuality } from './gguf/auto.js'
import { produceAdapterGguf, type AdapterGgufResult } from './gguf/adapter.js'
import type { PeftPlan } from './gguf/peft.js'
import { baseGgufCache } from './gguf/base-cache.js'
import { sixteenBitBase } from './mlx/base16.js'
import type { CommentConfig, Config } from './core/config.js'
import { readInputs } from './inputs.js'
import { handOverFullPrecision, produceMlx, type MlxResult } from './mlx/produce.js'
import { preflight, type Plan } from './plan.js'
import {
  dropQualityReference,
  ggufScorer,
  makeQualityReference,
  measureQuality,
  type QualityReference,
  type QualityRequest,
  type QualitySummary
} from './quality/stage.js'
import { writeRunCard } from './hub-publish/card-file.js'
import {
  annotate,
  logSizes,
  setOutputs,
  writeFailureManifest,
  writeFailureSummary,
  writeManifest,
  writeQualityChart,
  qualityChartPath,
  removeEarlierChart,
  writeSummary,
  type ManifestExtra,
  type RunReport
} from './report/index.js'
import { redact } from './core/redact.js'
import { ActionError, mergeStages, type StageResult } from './core/types.js'

interface RunState {
  /** Set once the run may change its output folders: from then on a failure rewrites the manifest. */
  manifest: { path: string; folders: MadeFolders } | null
  /** The comment's inputs, read before the others: a failure replaces the comment with its own. */
  comment: CommentConfig | null
}

/** `machine`: the free space and memory the checks read (a smaller one in the tests). */
export async function run(machine: Machine = thisMachine()): Promise<void> {
  const state: RunState = {
    manifest: null,
    comment: earlyCommentConfig(name => core.getInput(name), process.cwd())
  }
  try {
    await runAction(state, machine)
  } catch (error) {
    await fail(error, state)
  }
}

async function runAction(state: RunState, machine: Machine): Promise<void> {
  const config = await readInputs()
  const plan = await preflight(config, machine)
  state.manifest = { path: config.manifestPath, folders: plan.folders }
  await startWriting(config, plan.folders)
  const ws = new Workspace(machine.freeBytes)
  if (plan.hub) ws.add('hub download', plan.hub.downloadedBytes)

  const mlx = await produceMlx(plan.mlx, ws)
  const quality = qualityRequest(config, plan, mlx)
  const reference = await makeQualityReference(quality, ws)
  const gguf = plan.gguf
    ? await ggufFrom(mlx, plan, plan.gguf, ws, autoQuality(plan, quality, reference)).catch(
        (error: unknown) => dropQualityReference(error, reference, ws)
      )
    : null
  const made = mergeStages(mlx, gguf ?? {})
  const scored = await measureQuality(quality, reference, made, ws)
  const budgets = [...plan.budgets, ...plan.growthBudgets]
  const stages = mergeStages(scored, {
    diagnoses: unusedBudgetDiagnoses(budgets, scored.outputs, plan.qualityBudgets),
    notes: toolchainNote(plan.toolchain)
  })

  const checksums = await checksumOutputs(stages.outputs)
  const baseline = await findBaseline(config.baseline)
  const found = mergeStages(stages, { diagnoses: baseline.diagnoses, notes: baseline.notes })
  const report = await measuredReport(config, plan, found, checksums, ws.peakBytes, baseline)
  report.quality = scored.quality
  if (scored.quality) {
    report.qualityChart = qualityChartPath(config.outputDir)
    await writeQualityChart(report.qualityChart, report.outputs)
  }
  // The manifest and the summary first: the verdict outputs only once both are written.
  await writeManifest(report, manifestExtra(config, plan, gguf, scored.quality))
  await writeSummary(report)
  setOutputs(report)
  logSizes(report)
  annotate(report)
  const card = await modelCard(config, plan)
  const published = await uploadArtifacts(config.upload, report, checksums, { card })
  if (config.hub) await publishHub(config, plan)
  await keepBaseline(config.baseline, baseline, config.manifestPath)
  await commentOnPullRequest(config.comment, report, published.artifacts)
  const overBudget = overBudgetFailure(report.outputs, report.onOverBudget)
  if (overBudget) core.setFailed(redact(overBudget))
}

/**
 * The MLX stage hands over a full-precision model (a second fuse if it must); GGUF converts it.
 * With gguf-adapter, the LoRA GGUF and the base GGUF it applies to follow.
 */
async function ggufFrom(
  mlx: MlxResult,
  plan: Plan,
  setup: GgufSetup,
  ws: Workspace,
  auto: AutoQuality | null
): Promise<GgufResult> {
  const handOff = await handOverFullPrecision(plan.mlx, mlx, setup.config.dir, ws)
  const gguf = await produceGguf(setup, handOff.source, plan.base.dir, plan.budgets, ws, auto)
  const adapter = plan.peft ? await adapterGguf(plan, setup, plan.peft, ws) : null
  return {
    ...mergeStages(handOff, gguf, adapter ?? {}),
    manifest: adapter ? { ...gguf.manifest, adapter: adapter.manifest } : gguf.manifest
  }
}

async function adapterGguf(
  plan: Plan,
  setup: GgufSetup,
  peft: PeftPlan,
  ws: Workspace
): Promise<AdapterGgufResult> {
  const base = { dir: plan.base.dir, bits: plan.base.quantization.bits }
  const cache = await baseGgufCache(plan.hub, setup.llama.commit)
  const base16 = await sixteenBitBase(plan.mlx.fuse, base, setup.config.dir, ws, !cache?.hit)
  const made = await produceAdapterGguf(
    { setup, peft, adapterDir: plan.mlx.fuse.adapterPath, base, base16, cache },
    ws
  )
  return { ...made, commands: [...base16.commands, ...made.commands] }
}

/**
 * The run's model card beside the model folder, from the manifest just written, before anything is
 * published: the artifacts, the release and the Hub carry the same file. None when nothing
 * publishes it (upload false, no hub-repo).
 */
async function modelCard(config: Config, plan: Plan): Promise<string | null> {
  if (!config.upload.upload && !config.hub) return null
  return writeRunCard({
    manifestPath: config.manifestPath,
    adapterPath: config.adapterPath,
    baseDir: plan.base.dir,
    uploadOverBudget: config.upload.uploadOverBudget
  })
}

/** What the quality stage measures with (eval-data), or null without it. */
function qualityRequest(config: Config, plan: Plan, mlx: MlxResult): QualityRequest | null {
  const q = plan.quality
  if (!q) return null
  return {
    data: q.data,
    sha256: q.sha256,
    bytes: q.bytes,
    chunking: q.chunking,
    python: plan.env.python,
    base: plan.base.dir,
    adapterPath: config.adapterPath,
    outputDir: config.outputDir,
    mlxQuantized: mlx.facts.requantized !== null || mlx.facts.fused.stats.quantized,
    perplexity: plan.gguf?.llama.perplexity ?? null,
    tokenize: plan.gguf?.llama.tokenize ?? null
  }
}

/** With eval-data, `gguf: auto` weighs the quality budget too: it scores with the run's reference. */
function autoQuality(
  plan: Plan,
  req: QualityRequest | null,
  ref: QualityReference | null
): AutoQuality | null {
  if (!req || !ref || !plan.gguf?.config.auto) return null
  return { budgets: plan.qualityBudgets, score: ggufScorer(req, ref) }
}

/** The Hub client loads only when hub-repo is set. */
async function publishHub(config: Config, plan: Plan): Promise<void> {
  const { publishHubStep } = await import('./hub-publish/index.js')
  await publishHubStep(config, plan.base.dir)
}

/**
 * From here the output folders change: the manifest says "failed" until the run completes, and an
 * earlier run's chart is gone until this run writes its own.
 */
async function startWriting(config: Config, folders: MadeFolders): Promise<void> {
  await writeFailureManifest(config.manifestPath, folders, 'The run has not finished.')
  await removeEarlierChart(config.outputDir)
  if (config.overwrite) {
    await emptyDir(config.outputDir)
    if (folders.ggufDir) await emptyDir(folders.ggufDir)
  }
}

/** The outputs with their checksums and verdicts, and everything the summary explains. */
async function measuredReport(
  config: Config,
  plan: Plan,
  stages: StageResult,
  checksums: Checksums,
  peakDiskBytes: number,
  baseline: FoundBaseline
): Promise<RunReport> {
  const judged = judge(
    await withChecksums(stages.outputs, checksums),
    plan.budgets,
    plan.qualityBudgets
  )
  const { outputs, diagnoses } = judgeGrowth(judged, plan.growthBudgets, growthBaseline(baseline))
  return {
    baseModel: config.baseModel,
    baseBytes: plan.base.bytes,
    adapterPath: config.adapterPath,
    mlxLm: { version: plan.env.mlxLmVersion, python: plan.env.python, source: plan.env.source },
    llamaCpp: plan.gguf
      ? {
          version: plan.gguf.llama.version,
          commit: plan.gguf.llama.commit,
          dir: plan.gguf.llama.dir
        }
      : null,
    commands: stages.commands,
    outputs,
    diagnoses: [...stages.diagnoses, ...diagnoses, ...explainGgufOverBudget(outputs)],
    notes: stages.notes,
    onOverBudget: config.onOverBudget,
    manifestPath: config.manifestPath,
    peakDiskBytes,
    deltas: baselineDeltas(config.baseline, baseline, outputs)
  }
}

function manifestExtra(
  config: Config,
  plan: Plan,
  gguf: GgufResult | null,
  quality: QualitySummary | null
): ManifestExtra {
  const hub = plan.hub
  return {
    folders: plan.folders,
    fuse: {
      dequantize: config.dequantize,
      quantizeBits: config.quantizeBits,
      quantizeGroupSize: config.quantizeGroupSize,
      adapters: plan.adapters
    },
    baseModelSource: hub && {
      repo: hub.repo,
      revision: hub.revision,
      commit: hub.commit,
      endpoint: hub.endpoint,
      snapshot: hub.snapshotDir,
      downloadedBytes: hub.downloadedBytes
    },
    gguf: gguf?.manifest ?? null,
    quality
  }
}

async function fail(error: unknown, state: RunState): Promise<void> {
  // Redacted once, for every place it goes: the log, the annotation, the manifest, the summary.
  const message = redact(
    error instanceof ActionError
      ? error.message
      : `Unexpected error: ${(error as Error)?.stack ?? String(error)}`
  )
  core.setFailed(message)
  if (error instanceof ActionError && error.exitCode !== undefined && error.exitCode > 0) {
    process.exitCode = error.exitCode
  }
  if (state.manifest) {
    await writeFailureManifest(state.manifest.path, state.manifest.folders, message).catch(
      (e: unknown) => core.warning(redact((e as Error).message))
    )
  }
  await writeFailureSummary(message)
  if (state.comment) await commentOnFailure(state.comment, message)
}
