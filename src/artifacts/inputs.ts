/** The upload inputs: parsed and checked up front, before any expensive work. */
import path from 'node:path'
import type { UploadConfig } from '../core/config.js'
import { ActionError } from '../core/types.js'
import { Inputs, type InputName } from '../core/constants.js'

export type { UploadConfig } from '../core/config.js'

/**
 * Characters the artifact service refuses in a name (`@actions/artifact` 6.2.1,
 * lib/internal/upload/path-and-artifact-name-validation.js): refused here before any fuse.
 */
const FORBIDDEN = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/']

/** `getInput` is `core.getInput` in the action, a plain lookup in tests. */
export function readUploadInputs(
  getInput: (name: string) => string,
  outputDir: string
): UploadConfig {
  const bool = (name: InputName): boolean => {
    const raw = getInput(name)
    const value = raw.trim().toLowerCase()
    if (value === '') return name === Inputs.Upload
    if (value === 'true') return true
    if (value === 'false') return false
    throw new ActionError(`Input ${name} is "${raw}"; use true or false.`)
  }
  const upload = bool(Inputs.Upload)
  const prefix = getInput(Inputs.ArtifactName).trim() || path.basename(outputDir)
  // Only an upload needs a valid artifact name (the prefix also names the GGUF files).
  const bad = upload ? FORBIDDEN.find(c => prefix.includes(c)) : undefined
  if (bad !== undefined) {
    const given = getInput(Inputs.ArtifactName).trim() !== ''
    throw new ActionError(
      `Input artifact-name is ${JSON.stringify(prefix)}${given ? '' : ' (the basename of output-dir)'}, which holds ${JSON.stringify(bad)}; ` +
        `artifact names cannot contain any of ${FORBIDDEN.map(c => JSON.stringify(c)).join(' ')}: choose another artifact-name.`
    )
  }
  const daysText = getInput(Inputs.RetentionDays).trim()
  let retentionDays: number | null = null
  if (daysText !== '') {
    const days = Number(daysText)
    if (!/^\d+$/.test(daysText) || days < 1 || days > 400) {
      throw new ActionError(
        `Input retention-days is "${daysText}"; use a whole number of days from 1 to 400, or leave it empty for the repository's default.`
      )
    }
    retentionDays = days
  }
  return {
    upload,
    prefix,
    retentionDays,
    uploadOverBudget: bool(Inputs.UploadOverBudget),
    removeAfterUpload: bool(Inputs.RemoveAfterUpload)
  }
}
