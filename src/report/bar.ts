/**
 * An output's size against its budget as a text bar, `██████░░░░ 61 %`, the same in the job
 * summary, the pull-request comment and the log (plain text: no markup, nothing to escape). The
 * bar and the figure round down, so a full bar and `100 %` mean the budget is reached; over budget
 * says so in words too, since a bar alone cannot show by how much.
 */
import type { Verdict } from '../budget/index.js'

export const BAR_CELLS = 10

/** The bar of `bytes` against `budgetBytes`: `██████░░░░ 61 %`, `██████████ 243 %`. */
export function sizeBar(bytes: number, budgetBytes: number): string {
  // Exact integer arithmetic: sizes are whole bytes within Number.MAX_SAFE_INTEGER.
  const percent = (BigInt(bytes) * 100n) / BigInt(budgetBytes)
  const cells = Math.min(
    BAR_CELLS,
    Number((BigInt(bytes) * BigInt(BAR_CELLS)) / BigInt(budgetBytes))
  )
  const bar = '█'.repeat(cells) + '░'.repeat(BAR_CELLS - cells)
  return `${bar} ${percent} %`
}

/**
 * The bar of an output's verdict, `██████████ 243 % (over budget)` when over, null without a budget. A growth limit's bar is against the most
 * the limit allows, and says "over its growth limit".
 */
export function verdictBar(bytes: number, v: Verdict): string | null {
  if (v.status === 'no-budget') return null
  const bar = sizeBar(bytes, v.budget.bytes)
  if (v.status === 'within') return bar
  return `${bar} (over ${v.growth ? 'its growth limit' : 'budget'})`
}
