/**
 * Growth limits (`size-budget` entries such as `gguf=+5%` or `mlx=+200MB`): how much an output may
 * grow against the baseline this run compares with. A limit judges as a budget of the baseline's
 * size plus the growth allowed, exact in bytes; without a baseline (or for an output the baseline
 * lacks) it is skipped with a notice, never passed or failed on a guess. Beside an absolute budget
 * for the same output, the verdict is the one that fails (the absolute one first), else the one
 * with less headroom.
 */
import type { Diagnosis, GrowthEntry } from '../core/types.js'
import { budgetFor, verdictAgainst, type JudgedOutput, type Verdict } from './verdict.js'

/** The baseline's sizes by output name, and its label (`main@1a2b3c4`). */
export interface GrowthBaseline {
  label: string
  sizes: Readonly<Record<string, number>>
}

const TITLE = 'Growth limit skipped'

/** The most bytes `entry` allows against a baseline of `baseBytes` (a fraction of a byte rounds down). */
export function growthLimitBytes(entry: GrowthEntry, baseBytes: number): number {
  const g = entry.growth
  if (g.kind === 'bytes') return baseBytes + g.bytes
  return baseBytes + Number((BigInt(baseBytes) * BigInt(g.hundredths)) / 10_000n)
}

/** Each output judged by its growth limit too, and a notice for each limit that could not judge. */
export function judgeGrowth(
  outputs: readonly JudgedOutput[],
  entries: readonly GrowthEntry[],
  baseline: GrowthBaseline | null
): { outputs: JudgedOutput[]; diagnoses: Diagnosis[] } {
  const diagnoses: Diagnosis[] = []
  const skipped: string[] = []
  const judged = outputs.map(o => {
    const entry = budgetFor(entries, o)
    if (!entry) return o
    if (!baseline) {
      skipped.push(`"${entry.text}" for ${o.name}`)
      return o
    }
    if (!Object.hasOwn(baseline.sizes, o.name)) {
      diagnoses.push({
        level: 'notice',
        output: o.name,
        title: TITLE,
        text: `${o.name} is new against the baseline ${baseline.label}, so its growth limit "${entry.text}" is skipped; its absolute budget, if any, still applies.`
      })
      return o
    }
    const baseBytes = baseline.sizes[o.name]
    const limit = {
      target: entry.target,
      bytes: growthLimitBytes(entry, baseBytes),
      text: entry.text
    }
    const growth = verdictAgainst(o, limit)
    if (growth.status === 'no-budget') return o
    return {
      ...o,
      verdict: decisive(o.verdict, { ...growth, growth: { baseBytes, label: baseline.label } })
    }
  })
  if (skipped.length > 0) {
    diagnoses.push({
      level: 'notice',
      title: TITLE,
      text: `There is no baseline to compare with, so the growth limit${skipped.length === 1 ? '' : 's'} ${skipped.join(', ')} ${skipped.length === 1 ? 'is' : 'are'} skipped; absolute budgets still apply.`
    })
  }
  return { outputs: judged, diagnoses }
}

/** The verdict that decides: one that fails (the absolute one first), else the one with less headroom. */
function decisive(absolute: Verdict, growth: Verdict): Verdict {
  if (absolute.status === 'over') return absolute
  if (growth.status === 'over' || absolute.status === 'no-budget') return growth
  return (growth.headroomBytes ?? 0) < absolute.headroomBytes ? growth : absolute
}
