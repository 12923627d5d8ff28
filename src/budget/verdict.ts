/** Picking each output's budget and judging the output against it. */
import type { BudgetEntry, MeasuredOutput, QualityBudgetEntry } from '../core/types.js'
import { ADAPTER_TARGETS } from './parse.js'
import { qualityVerdictFor, type QualityVerdict } from './quality.js'

/**
 * An output against its budget. `headroomBytes` is budget - size (negative when over);
 * `overPercent` how far over, in percent of the budget (143 means 2.43x). A growth limit
 * (src/budget/growth.ts) judges as a budget of the baseline's size plus the growth allowed;
 * `growth` then says what it was measured against.
 */
export type Verdict =
  | { status: 'no-budget'; budget: null; headroomBytes: null; overPercent: null }
  | {
      status: 'within'
      budget: BudgetEntry
      headroomBytes: number
      overPercent: null
      growth?: GrowthBasis
    }
  | {
      status: 'over'
      budget: BudgetEntry
      headroomBytes: number
      overPercent: number
      growth?: GrowthBasis
    }

/** The baseline a growth limit was judged against: its size of the output, and `main@1a2b3c4`. */
export interface GrowthBasis {
  baseBytes: number
  label: string
}

export type VerdictStatus = Verdict['status']
export type OverBudget = Extract<Verdict, { status: 'over' }>

/** A measured output with its verdict attached (never matched up by name). */
export interface JudgedOutput extends MeasuredOutput {
  verdict: Verdict
  /** Against quality-budget (absent: judged without quality budgets, as before them). */
  qualityVerdict?: QualityVerdict
}

/**
 * The most specific budget for an output: its GGUF type, then `gguf` or `mlx`, then `all`. The
 * LoRA GGUF and the base GGUF of gguf-adapter have their own targets (`lora`, `base`), then `all`:
 * `gguf` is meant for the fused model's files.
 */
export function budgetFor<E extends { target: string }>(
  entries: readonly E[],
  output: { name: string; kind: 'mlx' | 'gguf' }
): E | null {
  const order =
    output.kind === 'mlx'
      ? ['mlx', 'all']
      : ADAPTER_TARGETS.includes(output.name)
        ? [output.name, 'all']
        : [output.name.toUpperCase(), 'gguf', 'all']
  for (const target of order) {
    const hit = entries.find(e => e.target === target)
    if (hit) return hit
  }
  return null
}

export function verdictFor(output: MeasuredOutput, entries: readonly BudgetEntry[]): Verdict {
  const budget = budgetFor(entries, output)
  if (!budget) return { status: 'no-budget', budget: null, headroomBytes: null, overPercent: null }
  return verdictAgainst(output, budget)
}

/** The output against one budget. */
export function verdictAgainst(output: MeasuredOutput, budget: BudgetEntry): Verdict {
  const headroomBytes = budget.bytes - output.bytes
  if (headroomBytes >= 0) return { status: 'within', budget, headroomBytes, overPercent: null }
  const overPercent = ((output.bytes - budget.bytes) / budget.bytes) * 100
  return { status: 'over', budget, headroomBytes, overPercent }
}

/** Each output with its verdicts attached: size, and quality when quality budgets are set. */
export function judge(
  outputs: readonly MeasuredOutput[],
  entries: readonly BudgetEntry[],
  quality: readonly QualityBudgetEntry[] = []
): JudgedOutput[] {
  return outputs.map(o => ({
    ...o,
    verdict: verdictFor(o, entries),
    ...(quality.length ? { qualityVerdict: qualityVerdictFor(o, quality) } : {})
  }))
}

/** True when the output is over its size budget or its quality budget. */
export function isOverBudget(o: { verdict: Verdict; qualityVerdict?: QualityVerdict }): boolean {
  return o.verdict.status === 'over' || o.qualityVerdict?.status === 'over'
}

/** True when no output is over a budget, size or quality (an output without one passes). */
export function withinBudget(
  outputs: ReadonlyArray<{ verdict: Verdict; qualityVerdict?: QualityVerdict }>
): boolean {
  return outputs.every(o => !isOverBudget(o))
}
