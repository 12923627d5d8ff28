/** Re-resolving budget targets through the llama.cpp checkout the run uses. */
import { ActionError, type BudgetEntry, type GrowthEntry } from '../core/types.js'
import { GENERIC_TARGETS, INPUT } from './parse.js'

/**
 * The checkout's canonical name for a GGUF type name or alias (`Q4_K` -> `Q4_K_M`), or null when
 * it does not know the name (gguf/quant-types `canonicalType` over `llama-quantize --help`).
 */
export type CanonicalType = (name: string) => string | null

/**
 * Re-resolves type targets through the llama.cpp checkout's own `llama-quantize --help` aliases,
 * which are authoritative once known (the static table only covers what it listed when written).
 * Absolute budgets and growth limits are resolved each in their own call.
 */
export function resolveBudgetTypes<E extends BudgetEntry | GrowthEntry>(
  entries: readonly E[],
  canonical: CanonicalType
): E[] {
  const out: E[] = []
  for (const e of entries) {
    const target = GENERIC_TARGETS.includes(e.target) ? e.target : (canonical(e.target) ?? e.target)
    const twin = out.find(o => o.target === target)
    if (twin) {
      throw new ActionError({
        problem: `Input ${INPUT} entries "${twin.text}" and "${e.text}" both name ${target} in this llama.cpp checkout`,
        fix: `keep one`
      })
    }
    out.push({ ...e, target })
  }
  return out
}
