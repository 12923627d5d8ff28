/** Parsing the `size-budget` input into budget entries (targets as written, aliases resolved). */
import { parseSize } from '../core/size.js'
import { ActionError, type BudgetEntry } from '../core/types.js'

export const INPUT = 'size-budget'
/** Targets that are not a GGUF type name. */
export const GENERIC_TARGETS: readonly string[] = ['all', 'mlx', 'gguf', 'lora', 'base']

/** Targets of one output each that `gguf` does not cover: gguf-adapter's LoRA GGUF and base GGUF. */
export const ADAPTER_TARGETS: readonly string[] = ['lora', 'base']

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
        `Input ${INPUT} has an unknown target "${rawTarget}" in "${item}"; targets are all, mlx, gguf, lora, base or a GGUF type such as Q4_K_M or Q8_0.`
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
