/** Parsers of input values that more than one module reads (src/inputs.ts, src/artifacts/). */
import { ActionError } from './types.js'
import type { InputName } from './constants.js'

/**
 * A true/false input: `true` or `false` in any case, surrounding blanks ignored; empty means
 * `fallback` (action.yml's default); anything else is refused in one sentence.
 */
export function parseBooleanInput(name: InputName, raw: string, fallback: boolean): boolean {
  const value = raw.trim().toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  throw new ActionError(`Input ${name} is "${raw.trim()}"; use true or false.`)
}
