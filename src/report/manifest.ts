/**
 * The manifest (schemaVersion 1): the public contract workflows read, written beside the output.
 * Its JSON Schema is `schema/manifest-v1.schema.json`; the tests validate every manifest they
 * produce against it, so a field added or changed here must be added there too.
 */
import { withinBudget, type VerdictStatus } from '../budget/index.js'
import { GENERATOR, type MadeFolders } from '../core/folders.js'
import { redact } from '../core/redact.js'
import { overwriteText } from '../core/workspace.js'
import { ActionError, type Command, type Diagnosis, type MeasuredOutput } from '../core/types.js'
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
}

/** The GGUF path of the run (src/gguf/pipeline `GgufManifest`). */
export interface ManifestGgufV1 {
  types: string[]
  /** The `gguf: auto` choice, or null when the types were listed. */
  auto: { type: string; candidates: ManifestAutoCandidateV1[]; budgetText: string } | null
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
}

/** The manifest's entry for one output: the measured output and its verdict, flat. */
export interface ManifestOutputV1 extends MeasuredOutput {
  budgetBytes: number | null
  budget: string | null
  headroomBytes: number | null
  status: VerdictStatus
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
    outputs: report.outputs.map(({ verdict: v, ...o }) => ({
      ...o,
      budgetBytes: v.budget?.bytes ?? null,
      budget: v.budget?.text ?? null,
      headroomBytes: v.headroomBytes,
      status: v.status
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
