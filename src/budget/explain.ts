/** Over-budget outputs in words: the per-output message, the step's failure and why it is over. */
import { formatCount, formatDecimal, formatSize } from '../core/size.js'
import type { Diagnosis, MeasuredOutput } from '../core/types.js'
import { withinBudget, type JudgedOutput, type OverBudget } from './verdict.js'
import { ADAPTER_TARGETS } from './parse.js'

/** One message per output over budget, e.g. `mlx: 6.07 GB (5.65 GiB) is over its budget of 2.50 GB by 143%`. */
export function overBudgetMessage(output: MeasuredOutput, v: OverBudget): string {
  if (v.growth) {
    const { baseBytes, label } = v.growth
    return `${output.name}: ${formatSize(output.bytes)} grew by ${formatSize(output.bytes - baseBytes)} (${growthPercent(output.bytes, baseBytes)}) against ${label}, over its growth limit of ${formatDecimal(v.budget.bytes)} (size-budget entry "${v.budget.text}")`
  }
  return `${output.name}: ${formatSize(output.bytes)} is over its budget of ${formatDecimal(v.budget.bytes)} by ${v.overPercent.toFixed(0)}% (size-budget entry "${v.budget.text}")`
}

/** `+7.2 %`: how much an output grew against its baseline size, one decimal under 10 %. */
export function growthPercent(bytes: number, baseBytes: number): string {
  if (baseBytes === 0) return 'from nothing'
  const pct = ((bytes - baseBytes) / baseBytes) * 100
  return `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(Math.abs(pct) < 10 ? 1 : 0)} %`
}

/** The step's failure message when an output is over budget and on-over-budget is fail, else null. */
export function overBudgetFailure(
  outputs: readonly JudgedOutput[],
  onOverBudget: 'fail' | 'warn'
): string | null {
  if (withinBudget(outputs) || onOverBudget !== 'fail') return null
  const over = outputs.filter(o => o.verdict.status === 'over').map(o => o.name)
  const size = over.length
    ? `${over.join(', ')} ${over.length === 1 ? 'is' : 'are'} over the size budget; see the job summary for sizes and why, then shrink the output or raise size-budget.`
    : ''
  const worse = outputs.filter(o => o.qualityVerdict?.status === 'over').map(o => o.name)
  const quality = worse.length
    ? `${worse.join(', ')} ${worse.length === 1 ? 'is' : 'are'} over the quality budget; see the job summary for the figures, then choose a type with more bits per weight or relax quality-budget.`
    : ''
  return [size, quality].filter(Boolean).join(' ')
}

/** Why a GGUF file is over its budget, and what fits instead, in plain words. */
export function explainGgufOverBudget(outputs: readonly JudgedOutput[]): Diagnosis[] {
  // The type advice is for the fused model's files, not gguf-adapter's LoRA and base GGUF.
  const ggufs = outputs.filter(o => o.kind === 'gguf' && !ADAPTER_TARGETS.includes(o.name))
  return ggufs.flatMap(o => {
    const v = o.verdict
    // Over a growth limit: what fits is a question for the baseline, not of bits per weight.
    if (v.status !== 'over' || v.growth) return []
    const budget = v.budget
    const fits = ggufs.filter(g => g.bytes <= budget.bytes)
    const size =
      o.parameters && o.bitsPerWeight
        ? `${o.name} stores ${o.bitsPerWeight.toFixed(2)} bits per weight, so ${formatCount(o.parameters)} parameters take ${formatSize(o.bytes)}`
        : `${o.name} takes ${formatSize(o.bytes)}`
    const others = fits.length
      ? ` From this run, ${fits.map(g => `${g.name} at ${formatSize(g.bytes)}`).join(', ')} fit${fits.length === 1 ? 's' : ''} that budget.`
      : ''
    const diagnosis: Diagnosis = {
      level: 'warning',
      output: o.name,
      title: fits.length
        ? `${fits[0].name} fits where ${o.name} does not`
        : `${o.name} needs fewer bits per weight to fit`,
      text: `${size}, ${v.overPercent.toFixed(0)}% over ${budget.text}.${others} Choose a type with fewer bits per weight (gguf: auto picks the best-quality type that fits the gguf budget), or raise the budget.`
    }
    return [diagnosis]
  })
}
