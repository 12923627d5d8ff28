/** GGUF quantization types: the one alias table, llama-quantize's --help parser, input validation. */
import { GGMLFileQuantizationType } from '@huggingface/gguf'
import { ActionError } from '../core/types.js'

/** The quantization types one llama.cpp checkout's `llama-quantize --help` lists. */
export interface QuantizeTypes {
  /** Canonical type names in the order the help lists them (aliases and COPY left out). */
  names: string[]
  /** llama_ftype number per canonical name, as the help prints it. */
  ftypes: Record<string, number>
  /** Alias -> canonical name, e.g. `Q4_K` -> `Q4_K_M`. */
  aliases: Record<string, string>
  /** True when this llama-quantize has `--dry-run`. */
  dryRun: boolean
}

/**
 * llama_ftype values llama.h no longer has (commented out as removed in ggml-org/llama.cpp
 * include/llama.h, enum llama_ftype, at commit 80fb11ac73e6, the checkout the tests build);
 * `GGMLFileQuantizationType` keeps them to name old files.
 */
const REMOVED_FTYPES: ReadonlySet<string> = new Set([
  'Q4_1_SOME_F16',
  'Q4_2',
  'Q4_3',
  'Q4_0_4_4',
  'Q4_0_4_8',
  'Q4_0_8_8'
])

/**
 * Values of `GGMLFileQuantizationType` from this number up name other tools' custom mixes
 * (unsloth's Q4_K_XL and so on: @huggingface/tasks 0.21.54, src/gguf.ts), not llama_ftype values.
 */
const FIRST_PSEUDO_FTYPE = 1000

/**
 * llama_ftype numbers (`general.file_type`) by name: `@huggingface/gguf`'s
 * `GGMLFileQuantizationType` without its pseudo-types and removed values. The help of a given
 * checkout wins where it prints its own (38, 40 and 41 are newer than older checkouts' llama.h).
 */
export const FTYPE_IDS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    Object.entries(GGMLFileQuantizationType).filter(
      (entry): entry is [string, number] =>
        typeof entry[1] === 'number' &&
        entry[1] < FIRST_PSEUDO_FTYPE &&
        !REMOVED_FTYPES.has(entry[0])
    )
  )
)

/** Short names llama-quantize accepts for a K-quant mix. */
export const TYPE_ALIASES: Readonly<Record<string, string>> = {
  Q3_K: 'Q3_K_M',
  Q4_K: 'Q4_K_M',
  Q5_K: 'Q5_K_M'
}

/**
 * The one message for a type that needs an importance matrix, whether the action sees it first
 * (validateGgufTypes) or llama-quantize says so (quantizeHint); without the closing period.
 */
export function needsImatrix(type: string): string {
  return `GGUF type ${type} needs an importance matrix: set the imatrix input to an imatrix file made with llama-imatrix, or choose a type that does not need one (for example Q2_K, Q3_K_M or IQ4_XS)`
}

/** Types llama-quantize refuses to make without an importance matrix (`--imatrix`). */
export const IMATRIX_TYPES: readonly string[] = [
  'IQ1_S',
  'IQ1_M',
  'IQ2_XXS',
  'IQ2_XS',
  'IQ2_S',
  'IQ2_M',
  'IQ3_XXS',
  'IQ3_XS',
  'Q2_K_S'
]

/** `gguf: auto` tries these from the largest down and keeps the first that fits the budget. */
export const AUTO_LADDER: readonly string[] = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q3_K_M', 'Q2_K']

/** Types convert_hf_to_gguf.py writes itself (`--outtype`), so no llama-quantize step is needed. */
export const CONVERT_OUTTYPES: readonly string[] = ['F16', 'BF16', 'F32', 'Q8_0']

const HELP_LINE = /^\s*(\d+)\s+or\s+([A-Za-z0-9_]+)\s*:\s*(.*)$/
const ALIAS_TEXT = /alias for\s+([A-Za-z0-9_]+)/i

/** Reads the allowed quantization types (and `--dry-run` support) from `llama-quantize --help`. */
export function parseQuantizeHelp(text: string): QuantizeTypes {
  const names: string[] = []
  const ftypes: Record<string, number> = {}
  const aliases: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const m = HELP_LINE.exec(line)
    if (!m) continue
    const name = m[2].toUpperCase()
    const alias = ALIAS_TEXT.exec(m[3])
    if (alias) {
      aliases[name] = alias[1].toUpperCase()
    } else if (!(name in ftypes)) {
      names.push(name)
      ftypes[name] = Number(m[1])
    }
  }
  // drop aliases whose target this help does not list
  for (const [alias, target] of Object.entries(aliases)) {
    if (!(target in ftypes)) delete aliases[alias]
  }
  return { names, ftypes, aliases, dryRun: /(^|\s)--dry-run\b/.test(text) }
}

/** The canonical name of a type (`q4_k` -> `Q4_K_M`), or null when `available` does not list it. */
export function canonicalType(name: string, available: QuantizeTypes): string | null {
  const upper = name.trim().toUpperCase()
  const target = available.aliases[upper] ?? upper
  return target in available.ftypes ? target : null
}

/** The llama_ftype number `general.file_type` holds for a type name (aliases allowed). */
export function ftypeOf(name: string, available?: QuantizeTypes): number | undefined {
  const upper = name.trim().toUpperCase()
  if (available) {
    const canonical = canonicalType(upper, available)
    if (canonical !== null) return available.ftypes[canonical]
  }
  return FTYPE_IDS[TYPE_ALIASES[upper] ?? upper]
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]
}

/** Tie-break for suggestions: the types people ask for most, most common first. */
const COMMON_TYPES = ['Q4_K_M', 'Q8_0', 'Q5_K_M', 'Q6_K', 'Q3_K_M', 'Q2_K', 'F16', 'BF16', 'F32']

/**
 * The listed type nearest to a misspelt one: edit distance with underscores and case ignored
 * first, then the plain edit distance, then the more common type (Q4_K_N -> Q4_K_M, not Q4_K_S).
 */
export function closestType(name: string, available: QuantizeTypes): string {
  const wanted = name.trim().toUpperCase()
  const bare = (s: string): string => s.replace(/[_\s-]/g, '')
  const rank = (t: string): number => {
    const i = COMMON_TYPES.indexOf(t)
    return i === -1 ? COMMON_TYPES.length : i
  }
  let best = available.names[0] ?? ''
  let bestScore = Number.POSITIVE_INFINITY
  for (const candidate of [...available.names, ...Object.keys(available.aliases)]) {
    const target = available.aliases[candidate] ?? candidate
    const score =
      levenshtein(bare(wanted), bare(candidate)) * 1000 +
      levenshtein(wanted, candidate) * 100 +
      rank(target)
    if (score < bestScore) {
      bestScore = score
      best = target
    }
  }
  return best
}

/**
 * Checks the types the `gguf` input asks for against what this checkout's llama-quantize lists
 * and returns their canonical names, in order and without repeats.
 */
export function validateGgufTypes(
  requested: readonly string[],
  available: QuantizeTypes,
  hasImatrix: boolean
): string[] {
  const out: string[] = []
  for (const raw of requested) {
    const name = raw.trim()
    if (name === '') continue
    const canonical = canonicalType(name, available)
    if (canonical === null) {
      throw new ActionError({
        problem:
          `Input gguf has '${name}', which this llama.cpp checkout's llama-quantize does not ` +
          `know (did you mean ${closestType(name, available)}?)`,
        fix: `use one of ${available.names.join(', ')}`
      })
    }
    if (IMATRIX_TYPES.includes(canonical) && !hasImatrix) {
      throw new ActionError({ problem: needsImatrix(canonical) })
    }
    if (!out.includes(canonical)) out.push(canonical)
  }
  return out
}
