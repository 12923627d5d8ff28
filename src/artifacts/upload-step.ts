/**
 * The upload step of run(), after the summary and manifest are written: upload the outputs as
 * workflow artifacts, then the artifact outputs and summary rows. (Publishing a release is
 * publish-release/; this module only uploads artifacts.) An upload error fails the step with its one sentence (what was and
 * was not uploaded) after those rows are written; it is not thrown, so the size summary above it
 * stays the run's report.
 */
import * as core from '@actions/core'
import { redact } from '../core/redact.js'
import type { RunReport } from '../report/index.js'
import type { ArtifactOutcome } from './outcome.js'
import { setArtifactOutputs, writeArtifactSummary } from './report.js'
import type { UploadConfig } from './inputs.js'
import type { Checksums } from './sums.js'
import type { ArtifactService } from './upload.js'

export async function uploadArtifacts(
  config: UploadConfig,
  report: RunReport,
  checksums: Checksums,
  extra: { card?: string | null; client?: ArtifactService } = {}
): Promise<ArtifactOutcome> {
  // The artifact client (Azure blob, Octokit) loads only here and in the plan's name check.
  const { uploadOutputs, UploadError } = await import('./upload.js')
  let result: ArtifactOutcome
  try {
    result = await uploadOutputs(
      {
        outputs: report.outputs,
        manifestPath: report.manifestPath,
        extraFiles: report.qualityChart ? [report.qualityChart] : [],
        config,
        checksums,
        card: extra.card ?? null
      },
      extra.client
    )
  } catch (error) {
    if (!(error instanceof UploadError)) throw error
    result = {
      status: 'failed',
      artifacts: error.uploaded,
      held: [],
      removed: [],
      superseded: [],
      error: error.message
    }
    core.setFailed(redact(error.message))
    exitSoonIfStuck()
  }
  setArtifactOutputs(result)
  await writeArtifactSummary(result)
  return result
}

/** How long the process may outlive a failed upload before it exits on its own. */
export const STUCK_EXIT_MS = 10_000

/**
 * After a stalled upload the client's stall timer fails the upload, but the block request that
 * hangs keeps its socket open (the blob client does not cancel it), so Node would keep the step
 * running until the job's timeout (seen with the fake holding a block unanswered: no exit in
 * 120 s). An unref'd timer exits with the step's exit code only if the process is still alive
 * STUCK_EXIT_MS later, long after the summary and outputs are written.
 */
function exitSoonIfStuck(): void {
  setTimeout(() => process.exit(), STUCK_EXIT_MS).unref()
}
