/** Size budgets: parsing the `size-budget` input, picking each output's budget, verdicts. */
import { canonicalType, type QuantizeTypes } from './gguf/types.js'
import { parseSize } from './core/size.js'
import {
  ActionError,
  budgetFor,
  type BudgetEntry,
  type Diagnosis,
  type JudgedOutput,
  type MeasuredOutput,
  type Verdict
} from './core/types.js'

const INPUT = 'size-budget'
const GENERIC_TARGETS = ['all', 'mlx', 'gguf']

/**
 * Parses `size-budget`: empty (no budget), one bare size (applies to every output), or
 * `TARGET=SIZE` entries separated by newlines or commas. Targets are case-insensitive and are
 * `all`, `mlx`, `gguf` or a GGUF type name from `ggufTypeNames`. A type target is resolved
 * through `aliases` exactly as the `gguf` input's types are (`q4_k` -> `Q4_K_M`), so a budget
 * always names the type of the file it gates; an unknown name is an error, never ignored.
 */
export function parseBudgets(
  text: string,
  ggufTypeNames: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>> = {}
): BudgetEntry[] {
  const items = text
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(s => s !== '')
  if (items.length === 0) return []
  // `mlx: 2MB` (YAML habit): say the fix instead of "not a number followed by an optional unit"
  for (const item of items) {
    const colon = /^([A-Za-z][A-Za-z0-9_]*)[ \t]*:[ \t]*([^=]+)$/.exec(item)
    if (colon) {
      throw new ActionError(
        `Input ${INPUT} entry "${item}" separates target and size with a colon; write it as ${colon[1]}=${colon[2].trim()}.`
      )
    }
  }
  const withTarget = items.filter(s => s.includes('='))
  if (withTarget.length === 0) {
    if (items.length > 1) {
      throw new ActionError(
        `Input ${INPUT} has ${items.length} bare sizes (${items.join(', ')}); give one size for every output, or TARGET=SIZE entries such as "mlx=2.5GB, gguf=2GB".`
      )
    }
    return [{ target: 'all', bytes: parseSize(items[0], INPUT), text: items[0] }]
  }
  if (withTarget.length !== items.length) {
    const bare = items.find(s => !s.includes('='))
    throw new ActionError(
      `Input ${INPUT} mixes a bare size "${bare}" with TARGET=SIZE entries; write it as "all=${bare}" so every entry names its target.`
    )
  }
  const entries: BudgetEntry[] = []
  for (const item of items) {
    const eq = item.indexOf('=')
    const rawTarget = item.slice(0, eq).trim()
    const written = normaliseTarget(rawTarget)
    const target = aliases[written] ?? written
    if (!GENERIC_TARGETS.includes(target) && !ggufTypeNames.has(target)) {
      throw new ActionError(
        `Input ${INPUT} has an unknown target "${rawTarget}" in "${item}"; targets are all, mlx, gguf or a GGUF type such as Q4_K_M or Q8_0.`
      )
    }
    if (entries.some(e => e.target === target)) {
      throw new ActionError(
        `Input ${INPUT} gives target "${rawTarget}" more than once${target === written ? '' : ` (it is ${target})`}; keep one entry per target.`
      )
    }
    const bytes = parseSize(item.slice(eq + 1).trim(), `${INPUT} entry "${item}"`)
    entries.push({ target, bytes, text: item })
  }
  return entries
}

function normaliseTarget(raw: string): string {
  const lower = raw.toLowerCase()
  return GENERIC_TARGETS.includes(lower) ? lower : raw.toUpperCase()
}

/**
 * Re-resolves type targets through the llama.cpp checkout's own `llama-quantize --help` aliases,
 * which are authoritative once known (the static table only covers what it listed when written).
 */
export function resolveBudgetTypes(
  entries: readonly BudgetEntry[],
  available: QuantizeTypes
): BudgetEntry[] {
  const out: BudgetEntry[] = []
  for (const e of entries) {
    const target = GENERIC_TARGETS.includes(e.target)
      ? e.target
      : (canonicalType(e.target, available) ?? e.target)
    const twin = out.find(o => o.target === target)
    if (twin) {
      throw new ActionError(
        `Input ${INPUT} entries "${twin.text}" and "${e.text}" both name ${target} in this llama.cpp checkout; keep one.`
      )
    }
    out.push({ ...e, target })
  }
  return out
}

export { budgetFor }

/**
 * Budget entries for GGUF outputs this run does not produce: a type it does not make, or `gguf`
 * in a run without GGUF files (a warning, not an error: one list can serve several workflows).
 */
export function unusedTypeBudgets(
  entries: readonly BudgetEntry[],
  producedTypes: readonly string[]
): BudgetEntry[] {
  return entries.filter(e =>
    e.target === 'gguf'
      ? producedTypes.length === 0
      : !GENERIC_TARGETS.includes(e.target) && !producedTypes.includes(e.target)
  )
}

/** A warning for each budget entry that gates nothing in this run (see {@link unusedTypeBudgets}). */
export function unusedBudgetDiagnoses(
  entries: readonly BudgetEntry[],
  outputs: readonly MeasuredOutput[]
): Diagnosis[] {
  const types = outputs.filter(o => o.kind === 'gguf').map(o => o.name)
  return unusedTypeBudgets(entries, types).map(unused => ({
    level: 'warning',
    title: `size-budget entry "${unused.text}" is ignored`,
    text:
      unused.target === 'gguf'
        ? `size-budget entry "${unused.text}" is for GGUF files and this run makes none; it is ignored here.`
        : `size-budget entry "${unused.text}" names a GGUF type this run does not produce; it is ignored here.`
  }))
}

export function verdictFor(output: MeasuredOutput, entries: readonly BudgetEntry[]): Verdict {
  const budget = budgetFor(entries, output)
  if (!budget) return { status: 'no-budget', budget: null, headroomBytes: null, overPercent: null }
  const headroomBytes = budget.bytes - output.bytes
  if (headroomBytes >= 0) return { status: 'within', budget, headroomBytes, overPercent: null }
  const overPercent = ((output.bytes - budget.bytes) / budget.bytes) * 100
  return { status: 'over', budget, headroomBytes, overPercent }
}

/** Each output with its verdict attached. */
export function judge(
  outputs: readonly MeasuredOutput[],
  entries: readonly BudgetEntry[]
): JudgedOutput[] {
  return outputs.map(o => ({ ...o, verdict: verdictFor(o, entries) }))
}
