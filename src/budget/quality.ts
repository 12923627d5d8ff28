/**
 * Quality budgets beside the size budgets: `quality-budget` entries `TARGET=METRIC:LIMIT`, with
 * the size budget's targets and aliases (`all`, `mlx`, `gguf`, a GGUF type), judged on the figures
 * the quality stage measured against base + adapters. Metrics: `kld` (the most mean KL divergence
 * allowed, nats per token), `agreement` (the least top-1 agreement, `0.98` or `98%`), `ppl` (the
 * most perplexity change allowed, `+5%`). For each metric the most specific entry wins, as for
 * size. A figure that is missing fails its entry: a budget never passes on a guess.
 */
import {
  ActionError,
  type MeasuredOutput,
  type QualityBudgetEntry,
  type QualityMetric
} from '../core/types.js'
import { GENERIC_TARGETS } from './parse.js'

export const QUALITY_INPUT = 'quality-budget'

/** One entry judged on one output's figure (null: the figure is missing). */
export interface QualityCheck {
  entry: QualityBudgetEntry
  value: number | null
  pass: boolean
}

export interface QualityVerdict {
  status: 'no-budget' | 'within' | 'over'
  checks: QualityCheck[]
}

const METRICS: readonly QualityMetric[] = ['kld', 'agreement', 'ppl']

function limitOf(metric: QualityMetric, text: string, item: string): number {
  const fail = (fix: string): never => {
    throw new ActionError({
      problem: `Input ${QUALITY_INPUT} entry "${item}" has the limit "${text}"`,
      fix
    })
  }
  if (metric === 'ppl') {
    const m = /^\+?(\d+(?:\.\d+)?)\s*%$/.exec(text)
    if (!m) fail('write the most perplexity change allowed as a percentage, such as ppl:+5%')
    return Number(m![1]) / 100
  }
  if (metric === 'agreement') {
    const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(text)
    const value = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN
    if (!(value > 0 && value <= 1)) {
      fail(
        'write the least top-1 agreement as a share or a percentage, such as agreement:0.98 or agreement:98%'
      )
    }
    return value
  }
  const m = /^\d+(?:\.\d+)?(?:e-?\d+)?$/i.exec(text)
  if (!m || !(Number(text) > 0)) {
    fail('write the most mean KL divergence allowed as a positive number, such as kld:0.05')
  }
  return Number(text)
}

/**
 * Parses `quality-budget`: empty, or `TARGET=METRIC:LIMIT` entries separated by newlines or
 * commas. Targets as in size-budget (type names resolved through `aliases`); one entry per target
 * and metric.
 */
export function parseQualityBudgets(
  text: string,
  ggufTypeNames: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>> = {}
): QualityBudgetEntry[] {
  const entries: QualityBudgetEntry[] = []
  for (const item of text
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(Boolean)) {
    const m = /^([^=]+)=\s*([A-Za-z]+)\s*:\s*(\S+)$/.exec(item)
    if (!m) {
      throw new ActionError({
        problem: `Input ${QUALITY_INPUT} entry "${item}" is not TARGET=METRIC:LIMIT`,
        fix: 'write entries such as Q4_K_M=kld:0.05, mlx=agreement:0.98 or gguf=ppl:+5%'
      })
    }
    const raw = m[1].trim()
    const lower = raw.toLowerCase()
    const written = GENERIC_TARGETS.includes(lower) ? lower : raw.toUpperCase()
    const target = aliases[written] ?? written
    if (!GENERIC_TARGETS.includes(target) && !ggufTypeNames.has(target)) {
      throw new ActionError({
        problem: `Input ${QUALITY_INPUT} has an unknown target "${raw}" in "${item}"`,
        fix: 'targets are all, mlx, gguf or a GGUF type such as Q4_K_M or Q8_0'
      })
    }
    const metric = m[2].toLowerCase() as QualityMetric
    if (!METRICS.includes(metric)) {
      throw new ActionError({
        problem: `Input ${QUALITY_INPUT} entry "${item}" names the metric "${m[2]}"`,
        fix: 'use kld (mean KL divergence), agreement (top-1 agreement) or ppl (perplexity change)'
      })
    }
    if (entries.some(e => e.target === target && e.metric === metric)) {
      throw new ActionError({
        problem: `Input ${QUALITY_INPUT} gives ${metric} for target "${raw}" more than once`,
        fix: 'keep one entry per target and metric'
      })
    }
    entries.push({ target, metric, limit: limitOf(metric, m[3], item), text: item })
  }
  return entries
}

/** For each metric, the most specific entry for the output: its GGUF type, `gguf`/`mlx`, `all`. */
export function qualityBudgetsFor(
  entries: readonly QualityBudgetEntry[],
  output: { name: string; kind: 'mlx' | 'gguf' }
): QualityBudgetEntry[] {
  const order = output.kind === 'mlx' ? ['mlx', 'all'] : [output.name.toUpperCase(), 'gguf', 'all']
  return METRICS.flatMap(metric => {
    for (const target of order) {
      const hit = entries.find(e => e.target === target && e.metric === metric)
      if (hit) return [hit]
    }
    return []
  })
}

/** What a verdict reads of an output: its name, kind and figures. */
type Judged = Pick<MeasuredOutput, 'name' | 'kind' | 'quality'>

function valueOf(output: Judged, metric: QualityMetric): number | null {
  const q = output.quality
  if (!q) return null
  const v = metric === 'kld' ? q.meanKld : metric === 'agreement' ? q.agreement : q.pplChange
  return Number.isFinite(v) ? v : null
}

/** The output judged on every quality budget that applies to it; a missing figure fails. */
export function qualityVerdictFor(
  output: Judged,
  entries: readonly QualityBudgetEntry[]
): QualityVerdict {
  const checks = qualityBudgetsFor(entries, output).map(entry => {
    const value = valueOf(output, entry.metric)
    const pass =
      value !== null && (entry.metric === 'agreement' ? value >= entry.limit : value <= entry.limit)
    return { entry, value, pass }
  })
  if (checks.length === 0) return { status: 'no-budget', checks }
  return { status: checks.every(c => c.pass) ? 'within' : 'over', checks }
}

const METRIC_WORDS: Record<QualityMetric, string> = {
  kld: 'mean KL divergence',
  agreement: 'top-1 agreement',
  ppl: 'perplexity change'
}

/** `0.0107`, `97.3 %`, `+2.7 %`: a figure of `metric` as the messages write it. */
export function formatQualityValue(metric: QualityMetric, value: number): string {
  if (metric === 'kld') return value.toPrecision(3)
  const pct = value * 100
  return metric === 'ppl'
    ? `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(1)} %`
    : `${pct.toFixed(1)} %`
}

/** `Q2_K: mean KL divergence 0.0107 is over its quality budget of 0.001 (quality-budget entry "Q2_K=kld:0.001")`. */
export function qualityCheckMessage(name: string, c: QualityCheck): string {
  const words = METRIC_WORDS[c.entry.metric]
  const limit = formatQualityValue(c.entry.metric, c.entry.limit)
  const where = `(${QUALITY_INPUT} entry "${c.entry.text}")`
  if (c.value === null) {
    return `${name}: no ${words} was measured, so its quality budget of ${limit} fails closed ${where}`
  }
  const side =
    c.entry.metric === 'agreement'
      ? 'under its quality budget of at least'
      : 'over its quality budget of'
  return `${name}: ${words} ${formatQualityValue(c.entry.metric, c.value)} is ${side} ${limit} ${where}`
}
