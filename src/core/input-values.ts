/** Parsers of input values that more than one module reads (src/inputs.ts, src/artifacts/). */
import path from 'node:path'
import { ActionError } from './types.js'
import { Inputs, type InputName } from './constants.js'
import { logSafe } from './log.js'

/**
 * A true/false input: `true` or `false` in any case, surrounding blanks ignored; empty means
 * `fallback` (action.yml's default); anything else is refused in one sentence.
 */
export function parseBooleanInput(name: InputName, raw: string, fallback: boolean): boolean {
  const value = raw.trim().toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  throw new ActionError({
    problem: `Input ${name} is "${raw.trim()}"`,
    fix: `use true or false`
  })
}

/** Input output-dir as an absolute path from `cwd` (`fused-model` when empty). */
export function outputDirInput(getInput: (name: string) => string, cwd: string): string {
  return path.resolve(cwd, getInput(Inputs.OutputDir) || 'fused-model')
}

/**
 * A git ref name as git defines one (git/git at b1ac1eb8, Documentation/git-check-ref-format.adoc):
 * no `..`, no component starting with `.` or ending in `.lock`, no empty component, no control
 * character, space, `~ ^ : ? * [ \\`, no `@{`, not `@`, not ending in `/` or `.`.
 */
export function isRefName(value: string): boolean {
  return !(
    value === '' ||
    value === '@' ||
    value.endsWith('.') ||
    value.includes('..') ||
    value.includes('@{') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0020\u007f~^:?*[\\]/.test(value) ||
    value.split('/').some(c => c === '' || c.startsWith('.') || c.endsWith('.lock'))
  )
}

/** Refuses an input that must name a git branch, tag or commit (`revision`, `hub-revision`). */
export function checkRefInput(name: InputName, value: string, what: string): void {
  if (!isRefName(value)) {
    throw new ActionError({
      problem: `Input ${name} "${logSafe(value)}" is not a valid git ${what} name (git check-ref-format)`,
      fix: `give a ${what} name such as main`
    })
  }
}
