/**
 * Size budgets, in one place: parsing `size-budget`, resolving type names through the llama.cpp
 * checkout (passed in as a function), picking each output's budget, verdicts, notes on entries
 * that gate nothing, and the over-budget explanation and messages.
 */
export { parseBudgets } from './parse.js'
export { resolveBudgetTypes, type CanonicalType } from './resolve.js'
export {
  budgetFor,
  isOverBudget,
  judge,
  verdictFor,
  withinBudget,
  type JudgedOutput,
  type OverBudget,
  type Verdict,
  type VerdictStatus
} from './verdict.js'
export { unusedBudgetDiagnoses, unusedTypeBudgets } from './unused.js'
export { explainGgufOverBudget, overBudgetFailure, overBudgetMessage } from './explain.js'
export {
  formatQualityValue,
  parseQualityBudgets,
  qualityBudgetsFor,
  qualityCheckMessage,
  qualityVerdictFor,
  QUALITY_INPUT,
  type QualityCheck,
  type QualityVerdict
} from './quality.js'
