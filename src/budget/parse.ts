/** Parsing the `size-budget` input into budget entries (targets as written, aliases resolved). */
import { parseSize } from '../core/size.js'
import { ActionError, type BudgetEntry, type GrowthEntry } from '../core/types.js'

export const INPUT = 'size-budget'
/** Targets that are not a GGUF type name. */
export const GENERIC_TARGETS: readonly string[] = ['all', 'mlx', 'gguf', 'lora', 'base']

/** Targets of one output each that `gguf` does not cover: gguf-adapter's LoRA GGUF and base GGUF. */
export const ADAPTER_TARGETS: readonly string[] = ['lora', 'base']

/** What `size-budget` holds: absolute budgets and growth limits (at most one of each per target). */
export interface SizeBudget {
  budgets: BudgetEntry[]
  growth: GrowthEntry[]
}

/** The absolute budgets of `size-budget` (see {@link parseSizeBudget}). */
export function parseBudgets(
  text: string,
  ggufTypeNames: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>> = {}
): BudgetEntry[] {
  return parseSizeBudget(text, ggufTypeNames, aliases).budgets
}

/**
 * Parses `size-budget`: empty (no budget), one bare size (applies to every output), or
 * `TARGET=SIZE` entries separated by newlines or commas. Targets are case-insensitive and are
 * `all`, `mlx`, `gguf` or a GGUF type name from `ggufTypeNames`. A type target is resolved
 * through `aliases` exactly as the `gguf` input's types are (`q4_k` -> `Q4_K_M`), so a budget
 * always names the type of the file it gates; an unknown name is an error, never ignored.
 * A size with a leading `+` (`gguf=+5%`, `mlx=+200MB`) is a growth limit against the baseline,
 * which may stand beside an absolute budget for the same target.
 */
export function parseSizeBudget(
  text: string,
  ggufTypeNames: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>> = {}
): SizeBudget {
  const items = text
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(s => s !== '')
  if (items.length === 0) return { budgets: [], growth: [] }
  // `mlx: 2MB` (YAML habit): say the fix instead of "not a number followed by an optional unit"
  for (const item of items) {
    const colon = /^([A-Za-z][A-Za-z0-9_]*)[ \t]*:[ \t]*([^=]+)$/.exec(item)
    if (colon) {
      throw new ActionError({
        problem: `Input ${INPUT} entry "${item}" separates target and size with a colon`,
        fix: `write it as ${colon[1]}=${colon[2].trim()}`
      })
    }
  }
  const withTarget = items.filter(s => s.includes('='))
  if (withTarget.length === 0) {
    if (items.length > 1) {
      throw new ActionError({
        problem: `Input ${INPUT} has ${items.length} bare sizes (${items.join(', ')})`,
        fix: `give one size for every output, or TARGET=SIZE entries such as "mlx=2.5GB, gguf=2GB"`
      })
    }
    return items[0].startsWith('+')
      ? { budgets: [], growth: [growthEntry('all', items[0], items[0])] }
      : {
          budgets: [{ target: 'all', bytes: parseSize(items[0], INPUT), text: items[0] }],
          growth: []
        }
  }
  if (withTarget.length !== items.length) {
    const bare = items.find(s => !s.includes('='))
    throw new ActionError({
      problem: `Input ${INPUT} mixes a bare size "${bare}" with TARGET=SIZE entries`,
      fix: `write it as "all=${bare}" so every entry names its target`
    })
  }
  const parsed: SizeBudget = { budgets: [], growth: [] }
  for (const item of items) {
    const eq = item.indexOf('=')
    const rawTarget = item.slice(0, eq).trim()
    const written = normaliseTarget(rawTarget)
    const target = aliases[written] ?? written
    if (!GENERIC_TARGETS.includes(target) && !ggufTypeNames.has(target)) {
      throw new ActionError({
        problem: `Input ${INPUT} has an unknown target "${rawTarget}" in "${item}"`,
        fix: `targets are all, mlx, gguf, lora, base or a GGUF type such as Q4_K_M or Q8_0`
      })
    }
    const size = item.slice(eq + 1).trim()
    const growth = size.startsWith('+')
    const twin = (growth ? parsed.growth : parsed.budgets).find(e => e.target === target)
    if (twin) {
      throw new ActionError({
        problem: `Input ${INPUT} gives ${growth ? 'a growth limit' : 'a size'} for target "${rawTarget}" more than once${target === written ? '' : ` (it is ${target})`} ("${twin.text}" and "${item}")`,
        fix: `keep one ${growth ? 'growth limit' : 'absolute size'} per target (an absolute size and a growth limit such as ${rawTarget}=+5% may stand side by side)`
      })
    }
    if (growth) parsed.growth.push(growthEntry(target, size, item))
    else
      parsed.budgets.push({
        target,
        bytes: parseSize(size, `${INPUT} entry "${item}"`),
        text: item
      })
  }
  return parsed
}

/**
 * `+5%`, `+0.5%` (of the baseline's size, at most two decimals; `+0%` allows no growth at all)
 * or `+200MB` (the size grammar).
 */
function growthEntry(target: string, size: string, item: string): GrowthEntry {
  const value = size.slice(1).trim()
  if (value.includes('%')) {
    const m = /^(\d+)(?:\.(\d{1,2}))?[ \t]*%$/.exec(value)
    if (!m) {
      throw new ActionError({
        problem: `Input ${INPUT} entry "${item}" has an invalid growth limit`,
        fix: `write a percentage of the baseline's size with at most two decimals, such as +5% or +0.5%, or a size such as +200MB`
      })
    }
    const hundredths = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'))
    return { target, growth: { kind: 'percent', hundredths }, text: item }
  }
  const bytes = parseSize(value, `${INPUT} growth limit "${item}"`)
  return { target, growth: { kind: 'bytes', bytes }, text: item }
}

function normaliseTarget(raw: string): string {
  const lower = raw.toLowerCase()
  return GENERIC_TARGETS.includes(lower) ? lower : raw.toUpperCase()
}
