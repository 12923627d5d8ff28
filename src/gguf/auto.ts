/**
 * `gguf: auto`: the best-quality type of the ladder that fits the GGUF budget; with a quality
 * budget on the GGUF types, the smallest type that passes both budgets.
 */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import { budgetFor } from '../budget/index.js'
import {
  qualityBudgetsFor,
  qualityCheckMessage,
  qualityVerdictFor,
  QUALITY_INPUT
} from '../budget/quality.js'
import { formatSize } from '../core/size.js'
import {
  ActionError,
  type BudgetEntry,
  type OutputQuality,
  type QualityBudgetEntry
} from '../core/types.js'
import { predictQuantizedSize } from './predict.js'
import type { LlamaCpp } from './toolchain.js'
import type { Workspace } from '../core/workspace.js'
import { AUTO_LADDER } from './quant-types.js'
import * as log from '../core/log.js'

export interface AutoCandidate {
  type: string
  predictedBytes: number
  method: 'dry-run' | 'estimate'
  budgetBytes: number
  measuredBytes?: number
  /** With a quality budget: the figures against base + adapters of a type that was made. */
  quality?: OutputQuality
  /** With a quality budget: the budget that ruled this type out, and why, in one sentence. */
  ruledOut?: { budget: 'size' | 'quality'; reason: string }
  /** With a quality budget: seconds spent quantizing (and scoring) this type. */
  seconds?: number
}

export interface AutoChoice {
  type: string
  file: string
  candidates: AutoCandidate[]
  budgetText: string
  /** The quality budget entries that took part (the walk from the smallest type up); absent without. */
  qualityBudget?: string[]
}

/**
 * What auto needs to weigh quality: the run's quality budgets and a function that scores a GGUF
 * file against base + adapters (handed in by the quality stage; auto knows nothing else of it).
 */
export interface AutoQuality {
  readonly budgets: readonly QualityBudgetEntry[]
  readonly score: (file: string) => Promise<OutputQuality>
}

/** The quality budget entries that apply to some ladder type: none means today's rule. */
export function autoQualityEntries(
  budgets: readonly QualityBudgetEntry[],
  ladder: readonly string[]
): QualityBudgetEntry[] {
  const entries = new Set<QualityBudgetEntry>()
  for (const type of ladder) {
    for (const e of qualityBudgetsFor(budgets, { name: type, kind: 'gguf' })) entries.add(e)
  }
  return [...entries]
}

/**
 * Predicts every ladder type's size (llama-quantize --dry-run where the checkout has it), starts
 * at the best one predicted to fit, and steps down while the measured file is still over.
 * When nothing fits, the smallest type is made and the budget verdict reports it.
 */
export async function chooseAuto(
  llama: LlamaCpp,
  input: string,
  budgets: readonly BudgetEntry[],
  imatrix: string | null,
  quantize: (type: string, predictedBytes: number) => Promise<string>,
  ws: Workspace,
  quality: AutoQuality | null = null
): Promise<AutoChoice> {
  const ladder = AUTO_LADDER.filter(t => llama.types.names.includes(t))
  if (ladder.length === 0) {
    throw new ActionError({
      problem: `This llama.cpp's llama-quantize lists none of ${AUTO_LADDER.join(', ')}`,
      fix: `list GGUF types in the gguf input instead of auto`
    })
  }
  const candidates: AutoCandidate[] = []
  await core.group(`Predicting GGUF sizes for gguf: auto (${ladder.join(', ')})`, async () => {
    for (const type of ladder) {
      const budget = budgetFor(budgets, { kind: 'gguf', name: type })
      if (!budget)
        throw new ActionError({
          problem: `gguf: auto needs a gguf budget in size-budget, such as "gguf=2GB"`
        })
      const p = await predictQuantizedSize({
        bin: llama.quantize,
        input,
        type,
        imatrix: imatrix ?? undefined,
        supportsDryRun: llama.types.dryRun
      })
      candidates.push({
        type,
        predictedBytes: p.bytes,
        method: p.method,
        budgetBytes: budget.bytes
      })
      log.info(
        `${type}: predicted ${formatSize(p.bytes)} (${p.method}), budget ${formatSize(budget.bytes)}`
      )
    }
  })
  const budgetText = budgetFor(budgets, { kind: 'gguf', name: ladder[0] })!.text
  const entries = quality ? autoQualityEntries(quality.budgets, ladder) : []
  if (quality && entries.length > 0) {
    return walkUp(candidates, budgetText, { ...quality, budgets: entries }, quantize, ws)
  }
  let start = candidates.findIndex(c => c.predictedBytes <= c.budgetBytes)
  if (start < 0) {
    start = candidates.length - 1
    core.warning(
      `gguf: auto found no type predicted to fit ${budgetText}; making the smallest, ${candidates[start].type}, so the budget check can report by how much it is over.`
    )
  }
  for (let i = start; i < candidates.length; i++) {
    const c = candidates[i]
    const file = await quantize(c.type, c.predictedBytes)
    c.measuredBytes = (await fs.lstat(file)).size
    if (c.measuredBytes <= c.budgetBytes || i === candidates.length - 1) {
      return { type: c.type, file, candidates, budgetText }
    }
    log.info(
      `${c.type} measured ${formatSize(c.measuredBytes)}, over ${formatSize(c.budgetBytes)}: stepping down.`
    )
    await ws.remove(file)
  }
  throw new ActionError({
    problem: 'gguf: auto ran out of candidates',
    fix: 'list GGUF types in the gguf input instead'
  })
}

/**
 * With a quality budget: from the smallest type up, the first that passes both budgets. A type
 * predicted or measured over the size budget rules out every larger one (they are larger still);
 * a type within size is scored and kept only if the quality budget passes, so each type passed
 * over cost one quantization and one scoring (counted by the workspace and in `seconds`). When no
 * type passes both, the largest within size is kept (or the smallest, when none is), so the
 * budget check reports by how much it misses: a budget never passes on a guess.
 */
async function walkUp(
  candidates: AutoCandidate[],
  budgetText: string,
  quality: AutoQuality,
  quantize: (type: string, predictedBytes: number) => Promise<string>,
  ws: Workspace
): Promise<AutoChoice> {
  const qualityBudget = quality.budgets.map(e => e.text)
  const choice = (c: AutoCandidate, file: string): AutoChoice => ({
    type: c.type,
    file,
    candidates,
    budgetText,
    qualityBudget
  })
  const upward = [...candidates].reverse()
  let kept: { c: AutoCandidate; file: string } | null = null
  for (const [i, c] of upward.entries()) {
    if (c.predictedBytes > c.budgetBytes) {
      overSize(upward.slice(i), `predicted ${formatSize(c.predictedBytes)}`, budgetText)
      break
    }
    const started = Date.now()
    const file = await quantize(c.type, c.predictedBytes)
    c.measuredBytes = (await fs.lstat(file)).size
    if (c.measuredBytes > c.budgetBytes) {
      c.seconds = (Date.now() - started) / 1000
      overSize(upward.slice(i), `measured ${formatSize(c.measuredBytes)}`, budgetText)
      if (kept === null) kept = { c, file }
      else await ws.remove(file)
      break
    }
    c.quality = await quality.score(file)
    c.seconds = (Date.now() - started) / 1000
    const verdict = qualityVerdictFor(
      { name: c.type, kind: 'gguf', quality: c.quality },
      quality.budgets
    )
    if (kept) await ws.remove(kept.file)
    kept = { c, file }
    if (verdict.status !== 'over') {
      log.info(`${c.type} is within ${budgetText} and its quality budget: gguf: auto takes it.`)
      return choice(c, file)
    }
    const failed = verdict.checks.filter(k => !k.pass).map(k => qualityCheckMessage(c.type, k))
    c.ruledOut = { budget: 'quality', reason: failed.join('; ') }
    log.info(`${failed.join('; ')}: stepping up.`)
  }
  if (kept) {
    core.warning(
      `gguf: auto found no type within both ${budgetText} and ${QUALITY_INPUT} (${qualityBudget.join(', ')}); keeping ${kept.c.type} so the budget check reports by how much it misses.`
    )
    return choice(kept.c, kept.file)
  }
  // Even the smallest type is predicted over the size budget: made, as without a quality budget.
  const smallest = upward[0]
  const file = await quantize(smallest.type, smallest.predictedBytes)
  smallest.measuredBytes = (await fs.lstat(file)).size
  core.warning(
    `gguf: auto found no type predicted to fit ${budgetText}; making the smallest, ${smallest.type}, so the budget check can report by how much it is over.`
  )
  return choice(smallest, file)
}

/** `first` is over the size budget (by `how`), and so is every larger type after it. */
function overSize(rest: AutoCandidate[], how: string, budgetText: string): void {
  const [first, ...larger] = rest
  first.ruledOut = {
    budget: 'size',
    reason: `${how}, over the size budget ${budgetText}`
  }
  for (const c of larger) {
    c.ruledOut = {
      budget: 'size',
      reason: `larger than ${first.type}, which is already over the size budget ${budgetText}`
    }
  }
}
