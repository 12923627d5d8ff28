/** The baseline inputs (`baseline-branch`, `size-delta-threshold`, `github-token`), checked up front. */
import type { BaselineConfig, DeltaThreshold } from '../core/config.js'
import { Inputs } from '../core/constants.js'
import { addSecret } from '../core/redact.js'
import { parseSize } from '../core/size.js'
import { ActionError } from '../core/types.js'

/** `getInput` is `core.getInput` in the action, a plain lookup in tests. */
export function readBaselineInputs(
  getInput: (name: string) => string,
  artifactName: string
): BaselineConfig {
  const token = getInput(Inputs.GithubToken).trim()
  addSecret(token) // the runner masks the job's token already; a personal token too
  const branch = getInput(Inputs.BaselineBranch).trim()
  // Git refuses these in a branch name (git check-ref-format); ':' also separates the cache key.
  if (branch !== '' && /[\s:~^?*[\\]|\.\.|^refs\//.test(branch)) {
    throw new ActionError({
      problem: `Input baseline-branch is "${branch}", which is not a branch name`,
      fix: `write the branch's short name, such as main`
    })
  }
  return {
    branch: branch || null,
    threshold: parseThreshold(getInput(Inputs.SizeDeltaThreshold)),
    token,
    name: artifactName
  }
}

/** `0.5%` of the baseline's size, or a size in the size grammar (`1MB`, `512KiB`); empty: none. */
export function parseThreshold(raw: string): DeltaThreshold | null {
  const text = raw.trim()
  if (text === '') return null
  const percent = /^(\d+(?:\.\d+)?)[ \t]*%$/.exec(text)
  if (percent) {
    const value = Number(percent[1])
    if (value <= 0 || value >= 100) {
      throw new ActionError({
        problem: `Input size-delta-threshold is "${text}"`,
        fix: `a percentage must be above 0 and below 100, such as 0.5%`
      })
    }
    return { kind: 'percent', percent: value, text }
  }
  if (text.includes('%')) {
    throw new ActionError({
      problem: `Input size-delta-threshold is "${text}"`,
      fix: `write a percentage as a plain number and %, such as 0.5%, or a size such as 1MB`
    })
  }
  return { kind: 'bytes', bytes: parseSize(text, Inputs.SizeDeltaThreshold), text }
}
