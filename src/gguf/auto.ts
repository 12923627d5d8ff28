/** `gguf: auto`: the best-quality type of the ladder that fits the GGUF budget. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import { budgetFor } from '../budget/index.js'
import { formatSize } from '../core/size.js'
import { ActionError, type BudgetEntry } from '../core/types.js'
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
}

export interface AutoChoice {
  type: string
  file: string
  candidates: AutoCandidate[]
  budgetText: string
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
  ws: Workspace
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
