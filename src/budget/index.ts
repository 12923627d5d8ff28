/**
 * Size budgets, in one place: parsing `size-budget`, resolving type names through the llama.cpp
 * checkout (passed in as a function), picking each output's budget, verdicts, notes on entries
 * that gate nothing, growth limits against the baseline, and the over-budget explanation and
 * messages.
 */
export { parseBudgets, parseSizeBudget, type SizeBudget } from './parse.js'
export { resolveBudgetTypes, type CanonicalType } from './resolve.js'
export {
  budgetFor,
  judge,
  verdictAgainst,
  verdictFor,
  withinBudget,
  type GrowthBasis,
  type JudgedOutput,
  type OverBudget,
  type Verdict,
  type VerdictStatus
} from './verdict.js'
export { unusedBudgetDiagnoses, unusedTypeBudgets } from './unused.js'
export {
  explainGgufOverBudget,
  growthPercent,
  overBudgetFailure,
  overBudgetMessage
} from './explain.js'
export { growthLimitBytes, judgeGrowth, type GrowthBaseline } from './growth.js'
