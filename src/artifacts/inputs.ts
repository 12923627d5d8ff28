/** The upload inputs: parsed and checked up front, before any expensive work. */
import path from 'node:path'
import type { UploadConfig } from '../core/config.js'
import { ActionError } from '../core/types.js'
import { Inputs, type InputName } from '../core/constants.js'
import { parseBooleanInput } from '../core/input-values.js'

export type { UploadConfig } from '../core/config.js'

/**
 * Characters the artifact service refuses in a name (`@actions/artifact` 6.2.1,
 * lib/internal/upload/path-and-artifact-name-validation.js, invalidArtifactNameCharacters); the
 * path separators among them also keep the GGUF files the prefix names inside gguf-dir.
 */
const FORBIDDEN = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/']

/** A file name's limit in bytes (NAME_MAX on Linux, APFS's 255 UTF-8 bytes on macOS). */
const NAME_MAX = 255
/**
 * The longest prefix: the longest file name it makes is a split GGUF shard,
 * `<prefix>-<TYPE>-00001-of-00009.gguf` (llama.cpp llama_split_path), 21 bytes plus the type's
 * name; 200 leaves 34 bytes for the type, far above the longest llama.cpp type (MXFP4_MOE).
 */
export const MAX_PREFIX_BYTES = 200

/** `getInput` is `core.getInput` in the action, a plain lookup in tests. */
export function readUploadInputs(
  getInput: (name: string) => string,
  outputDir: string
): UploadConfig {
  const bool = (name: InputName): boolean =>
    parseBooleanInput(name, getInput(name), name === Inputs.Upload)
  const upload = bool(Inputs.Upload)
  const prefix = artifactPrefix(getInput, outputDir)
  const daysText = getInput(Inputs.RetentionDays).trim()
  let retentionDays: number | null = null
  if (daysText !== '') {
    const days = Number(daysText)
    if (!/^\d+$/.test(daysText) || days < 1 || days > 400) {
      throw new ActionError({
        problem: `Input retention-days is "${daysText}"`,
        fix: `use a whole number of days from 1 to 400, or leave it empty for the repository's default`
      })
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

/**
 * The artifact-name prefix (`artifact-name`, else the basename of output-dir), refused as the
 * artifact service or a file system would refuse it whenever it names files: with an upload (the
 * artifacts and their staging folders) or a GGUF file (`<prefix>-<TYPE>.gguf` in gguf-dir).
 */
export function artifactPrefix(getInput: (name: string) => string, outputDir: string): string {
  const given = getInput(Inputs.ArtifactName).trim()
  const prefix = given || path.basename(outputDir)
  const upload = parseBooleanInput(Inputs.Upload, getInput(Inputs.Upload), true)
  if (upload || getInput(Inputs.Gguf).trim() !== '') checkPrefix(prefix, given !== '')
  return prefix
}

/** Refuses a prefix the artifact service or a file system would refuse, before any work. */
function checkPrefix(prefix: string, given: boolean): void {
  const which = `Input artifact-name is ${JSON.stringify(prefix)}${given ? '' : ' (the basename of output-dir)'}`
  const bad =
    FORBIDDEN.find(c => prefix.includes(c)) ??
    [...prefix].find(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  if (bad !== undefined) {
    throw new ActionError({
      problem: `${which}, which holds ${JSON.stringify(bad)}`,
      fix: `artifact names cannot contain any of ${FORBIDDEN.map(c => JSON.stringify(c)).join(' ')} or a control character, and the GGUF files are named after it: choose another artifact-name`
    })
  }
  const bytes = Buffer.byteLength(prefix, 'utf8')
  if (bytes > MAX_PREFIX_BYTES) {
    throw new ActionError({
      problem: `Input artifact-name is ${bytes} bytes long${given ? '' : ' (the basename of output-dir)'}`,
      fix: `the longest file name it makes (<artifact-name>-<TYPE>-00001-of-00009.gguf for a split GGUF type) must stay within ${NAME_MAX} bytes, so keep artifact-name within ${MAX_PREFIX_BYTES} bytes (UTF-8): choose a shorter artifact-name`
    })
  }
}
