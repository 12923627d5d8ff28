/**
 * The upload step of run(), after the summary and manifest are written: upload, then the artifact
 * outputs and summary rows. An upload error fails the step with its one sentence (what was and
 * was not uploaded) after those rows are written; it is not thrown, so the size summary above it
 * stays the run's report.
 */
import * as core from '@actions/core'
import {
  setArtifactOutputs,
  writeArtifactSummary,
  type ArtifactReport,
  type RunReport
} from '../report.js'
import type { UploadConfig } from './inputs.js'
import type { Checksums } from './sums.js'
import { uploadOutputs, UploadError, type ArtifactService } from './upload.js'

export async function publishOutputs(
  config: UploadConfig,
  report: RunReport,
  checksums: Checksums,
  client?: ArtifactService
): Promise<ArtifactReport> {
  let result: ArtifactReport
  try {
    result = await uploadOutputs(
      {
        outputs: report.outputs,
        verdicts: report.verdicts,
        manifestPath: report.manifestPath,
        config,
        checksums
      },
      client
    )
  } catch (error) {
    if (!(error instanceof UploadError)) throw error
    result = { status: 'failed', artifacts: error.uploaded, held: [], error: error.message }
    core.setFailed(error.message)
  }
  setArtifactOutputs(result)
  await writeArtifactSummary(result)
  return result
}
