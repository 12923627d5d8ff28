/**
 * The manifest (schemaVersion 1): the public contract workflows read, written beside the output.
 * Its JSON Schema is `schema/manifest-v1.schema.json`; the tests validate every manifest they
 * produce against it, so a field added or changed here must be added there too.
 */
import { withinBudget, type QualityVerdict, type VerdictStatus } from '../budget/index.js'
import { GENERATOR, type MadeFolders } from '../core/folders.js'
import { redact } from '../core/redact.js'
import { overwriteText } from '../core/workspace.js'
import {
  ActionError,
  type Command,
  type Diagnosis,
  type MeasuredOutput,
  type OutputQuality,
  type QualityMetric
} from '../core/types.js'
import type { QualitySummary } from '../quality/stage.js'
import type { RunReport } from './run-report.js'

export const MANIFEST_SCHEMA_VERSION = 1 as const

/** The adapters the run fused, as the plan validated them (src/mlx/adapters `AdapterInfo`). */
export interface ManifestAdaptersV1 {
  dir: string
  fineTuneType: 'lora' | 'dora' | 'full'
  numLayers: number | null
  rank: number | null
  scale: number | null
  /** Keys the adapters apply to, when the config names them. */
  keys: string[] | null
  weightsBytes: number
}

/** One type `gguf: auto` considered: predicted, and measured when it was made. */
export interface ManifestAutoCandidateV1 {
  type: string
  predictedBytes: number
  method: 'dry-run' | 'estimate'
  budgetBytes: number
  measuredBytes?: number
  /** With a quality budget: the figures of a type auto made, the budget that ruled it out, its time. */
  quality?: OutputQuality
  ruledOut?: { budget: 'size' | 'quality'; reason: string }
  seconds?: number
}

/** The GGUF path of the run (src/gguf/pipeline `GgufManifest`). */
export interface ManifestGgufV1 {
  types: string[]
  /** The `gguf: auto` choice, or null when the types were listed. */
  auto: {
    type: string
    candidates: ManifestAutoCandidateV1[]
    budgetText: string
    /** The quality budget entries auto weighed (it walked up from the smallest type). */
    qualityBudget?: string[]
  } | null
  dir: string
  /** Where the intermediates were kept (keep-intermediates: true), else null. */
  intermediates: string | null
  convertPython: string
}

/** Where a Hub base model came from. */
export interface ManifestBaseSourceV1 {
  repo: string
  revision: string
  commit: string
  endpoint: string
  snapshot: string
  downloadedBytes: number
}

/** What run() adds to the manifest beside the report. */
export interface ManifestExtra {
  folders: MadeFolders
  fuse: {
    dequantize: boolean
    quantizeBits: number | null
    quantizeGroupSize: number
    adapters: ManifestAdaptersV1
  }
  baseModelSource: ManifestBaseSourceV1 | null
  gguf: ManifestGgufV1 | null
  /** The quality measurements (eval-data): the data, its chunking, the reference; null without. */
  quality: QualitySummary | null
}

/** The manifest's entry for one output: the measured output and its verdict, flat. */
export interface ManifestOutputV1 extends MeasuredOutput {
  budgetBytes: number | null
  budget: string | null
  headroomBytes: number | null
  status: VerdictStatus
  /** Against quality-budget: only in a run with quality budgets. */
  qualityStatus?: QualityVerdict['status']
  qualityChecks?: Array<{
    budget: string
    metric: QualityMetric
    limit: number
    /** The figure judged; null when it was not measured (the check fails closed). */
    value: number | null
    pass: boolean
  }>
}

/** The manifest of a completed run (schemaVersion 1): a public contract, read by workflows. */
export interface ManifestV1 extends ManifestExtra {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION
  generator: string
  createdAt: string
  status: 'complete'
  /** The commit the workflow ran on (GITHUB_SHA), or null outside GitHub Actions. */
  runCommit: string | null
  baseModel: string
  baseModelBytes: number | null
  adapterPath: string
  mlxLm: RunReport['mlxLm']
  llamaCpp: RunReport['llamaCpp']
  withinBudget: boolean
  onOverBudget: 'fail' | 'warn'
  peakDiskBytes: number
  outputs: ManifestOutputV1[]
  diagnoses: Diagnosis[]
  commands: Command[]
}

/** The manifest of a run that failed or has not finished (schemaVersion 1). */
export interface FailedManifestV1 {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION
  generator: string
  createdAt: string
  status: 'failed'
  error: string
  folders: MadeFolders
  withinBudget: false
  outputs: []
}

/** The manifest, written beside the output, never inside it. */
export async function writeManifest(report: RunReport, extra: ManifestExtra): Promise<void> {
  await writeJson(report.manifestPath, manifestV1(report, extra))
}

/** The manifest object {@link writeManifest} writes. */
export function manifestV1(report: RunReport, extra: ManifestExtra): ManifestV1 {
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: GENERATOR,
    createdAt: new Date().toISOString(),
    status: 'complete',
    runCommit: runCommit(),
    baseModel: report.baseModel,
    baseModelBytes: report.baseBytes,
    adapterPath: report.adapterPath,
    mlxLm: report.mlxLm,
    llamaCpp: report.llamaCpp,
    ...extra,
    withinBudget: withinBudget(report.outputs),
    onOverBudget: report.onOverBudget,
    peakDiskBytes: report.peakDiskBytes,
    outputs: report.outputs.map(({ verdict: v, qualityVerdict: q, ...o }) => ({
      ...o,
      budgetBytes: v.budget?.bytes ?? null,
      budget: v.budget?.text ?? null,
      headroomBytes: v.headroomBytes,
      status: v.status,
      ...(q && {
        qualityStatus: q.status,
        qualityChecks: q.checks.map(c => ({
          budget: c.entry.text,
          metric: c.entry.metric,
          limit: c.entry.limit,
          value: c.value,
          pass: c.pass
        }))
      })
    })),
    diagnoses: report.diagnoses,
    commands: report.commands
  }
}

/**
 * GITHUB_SHA, the commit the workflow run is for (a 40-hex SHA-1 or 64-hex SHA-256 object id);
 * publish-release passes it to `gh release create --target`, which otherwise tags the default
 * branch's head (cli/cli v2.60.0 pkg/cmd/release/create/create.go, `--target`).
 */
function runCommit(): string | null {
  const sha = (process.env.GITHUB_SHA ?? '').trim().toLowerCase()
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) ? sha : null
}

/**
 * The manifest of a run that failed (or has not finished): no sizes, withinBudget false, and the
 * folders it may have changed, so a later run with overwrite: true may replace them.
 */
export async function writeFailureManifest(
  manifestPath: string,
  folders: MadeFolders,
  error: string
): Promise<void> {
  const manifest: FailedManifestV1 = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: GENERATOR,
    createdAt: new Date().toISOString(),
    status: 'failed',
    error,
    folders,
    withinBudget: false,
    outputs: []
  }
  await writeJson(manifestPath, manifest)
}

async function writeJson(file: string, value: unknown): Promise<void> {
  // Redacted as JSON text: every string in the manifest (errors, endpoints, commands) at once.
  await overwriteText(file, `${redact(JSON.stringify(value, null, 2))}\n`).catch(
    (error: unknown) => {
      throw new ActionError({
        problem: `Could not write the manifest "${file}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        fix: `make sure the folder beside output-dir is writable and nothing else sits at that path, then run again`
      })
    }
  )
}
