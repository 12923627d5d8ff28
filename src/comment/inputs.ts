/**
 * The comment's inputs (`comment`, `github-token`, and the artifact name whose marker finds the
 * earlier comment). src/inputs.ts reads them with every other input; run() also reads them first,
 * alone, so that a run whose other inputs are refused still replaces its pull-request comment.
 */
import { artifactPrefix } from '../artifacts/inputs.js'
import type { CommentConfig } from '../core/config.js'
import { Inputs } from '../core/constants.js'
import { outputDirInput } from '../core/input-values.js'
import { addSecret } from '../core/redact.js'
import { ActionError } from '../core/types.js'

const MODES = ['auto', 'true', 'false'] as const

/** `getInput` is `core.getInput` in the action, a plain lookup in tests. */
export function readCommentInputs(
  getInput: (name: string) => string,
  artifactName: string
): CommentConfig {
  const raw = getInput(Inputs.Comment)
  const mode = raw.trim().toLowerCase() || 'auto'
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new ActionError({
      problem: `Input ${Inputs.Comment} is "${raw}"`,
      fix: `use ${MODES.join(' or ')}`
    })
  }
  const token = getInput(Inputs.GithubToken).trim()
  addSecret(token) // the runner masks the job's token already; a personal token too
  return { mode: mode as CommentConfig['mode'], token, artifactName }
}

/** C0 and C1 controls, DEL and the Unicode line separators: src/inputs.ts refuses them all. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u

/**
 * The comment's config before any other input is read, or null when one of the inputs it reads
 * would be refused (readInputs then says which, in its own sentence). `cwd` resolves output-dir
 * as readInputs does.
 */
export function earlyCommentConfig(
  getInput: (name: string) => string,
  cwd: string
): CommentConfig | null {
  const own = [Inputs.Comment, Inputs.GithubToken, Inputs.ArtifactName, Inputs.OutputDir]
  if (own.some(name => CONTROL.test(getInput(name)))) return null
  try {
    return readCommentInputs(getInput, artifactPrefix(getInput, outputDirInput(getInput, cwd)))
  } catch {
    return null
  }
}
