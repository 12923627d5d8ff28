/** Budget entries that gate nothing in this run: a note, not an error. */
import type { BudgetEntry, Diagnosis, MeasuredOutput, QualityBudgetEntry } from '../core/types.js'
import { ADAPTER_TARGETS, GENERIC_TARGETS } from './parse.js'

/**
 * Budget entries for GGUF outputs this run does not produce: a type it does not make, or `gguf`
 * in a run without GGUF files (a warning, not an error: one list can serve several workflows).
 */
export function unusedTypeBudgets<T extends { target: string }>(
  entries: readonly T[],
  producedTypes: readonly string[]
): T[] {
  const fused = producedTypes.filter(t => !ADAPTER_TARGETS.includes(t))
  return entries.filter(e =>
    e.target === 'gguf'
      ? fused.length === 0
      : ADAPTER_TARGETS.includes(e.target)
        ? !producedTypes.includes(e.target)
        : !GENERIC_TARGETS.includes(e.target) && !producedTypes.includes(e.target)
  )
}

/** A warning for each budget entry that gates nothing in this run (see {@link unusedTypeBudgets}). */
export function unusedBudgetDiagnoses(
  entries: ReadonlyArray<Pick<BudgetEntry, 'target' | 'text'>>,
  outputs: readonly MeasuredOutput[],
  quality: readonly QualityBudgetEntry[] = []
): Diagnosis[] {
  const types = outputs.filter(o => o.kind === 'gguf').map(o => o.name)
  const size = unusedTypeBudgets(entries, types).map((unused): Diagnosis => ({
    level: 'warning',
    title: `size-budget entry "${unused.text}" is ignored`,
    text:
      unused.target === 'gguf'
        ? `size-budget entry "${unused.text}" is for GGUF files and this run makes none; it is ignored here.`
        : ADAPTER_TARGETS.includes(unused.target)
          ? `size-budget entry "${unused.text}" is for gguf-adapter's ${unused.target} GGUF and this run makes none (gguf-adapter is false); it is ignored here.`
          : `size-budget entry "${unused.text}" names a GGUF type this run does not produce; it is ignored here.`
  }))
  const unusedQuality = unusedTypeBudgets(quality, types).map((unused): Diagnosis => ({
    level: 'warning',
    title: `quality-budget entry "${unused.text}" is ignored`,
    text: `quality-budget entry "${unused.text}" is for ${unused.target === 'gguf' ? 'GGUF files and this run makes none' : 'a GGUF type this run does not produce'}; it is ignored here.`
  }))
  return [...size, ...unusedQuality]
}
