/** The job summary: the size table, the findings, the notes and how it was measured. */
import * as core from '@actions/core'
import { deltaColumn } from '../baseline/deltas.js'
import { qualityCheckMessage, withinBudget } from '../budget/index.js'
import { html } from '../core/html.js'
import { formatDecimal, formatSize } from '../core/size.js'
import { ActionError } from '../core/types.js'
import {
  changeCell,
  code,
  dtypeMix,
  headroomCell,
  noteHtml,
  sizeCell,
  statusCell
} from './format.js'
import { verdictBar } from './bar.js'
import { trendTable } from './trend.js'
import type { QualitySummary } from '../quality/stage.js'
import type { RunReport } from './run-report.js'

export async function writeSummary(report: RunReport): Promise<void> {
  const s = core.summary
    .addHeading('mlx-fuse-action', 2)
    .addRaw(`<p><b>${headline(report)}</b></p>`, true)
  s.addTable(sizeTable(report))
  if (report.quality) qualityTable(s, report.outputs, report.quality)
  for (const d of report.diagnoses) {
    s.addRaw(
      `<p>${d.level === 'warning' ? '⚠️' : 'ℹ️'} <b>${html(d.title)}.</b> ${html(d.text)}</p>`,
      true
    )
  }
  for (const note of report.notes) s.addRaw(noteHtml(note), true)
  const trend = report.deltas ? trendTable(report.deltas, report.outputs) : null
  if (trend)
    s.addDetails(`Trend: the last baselines of ${html(report.deltas?.branch ?? '')}`, trend)
  const details = howMeasured(report)
  s.addDetails('How this was measured', `<ul>${details.map(d => `<li>${d}</li>`).join('')}</ul>`)
  await s.write().catch((error: unknown) => {
    s.emptyBuffer()
    throw new ActionError({
      problem: `Could not write the job summary to GITHUB_STEP_SUMMARY "${process.env.GITHUB_STEP_SUMMARY ?? ''}" (${(error as Error).message})`,
      fix: `the outputs were measured but no verdict is given without it, check the runner's summary file, then run again`
    })
  })
}

/** The verdict in one line: within, over (which budgets) and whether the step fails. */
function headline(report: RunReport): string {
  const anyBudget = report.outputs.some(
    o => o.verdict.status !== 'no-budget' || (o.qualityVerdict?.checks.length ?? 0) > 0
  )
  const anyQuality = report.outputs.some(o => o.qualityVerdict)
  const which = [
    ...(report.outputs.some(o => o.verdict.status === 'over') ? ['size'] : []),
    ...(report.outputs.some(o => o.qualityVerdict?.status === 'over') ? ['quality'] : [])
  ]
  const over = `Over the ${which.join(' and ')} budget${which.length > 1 ? 's' : ''}`
  if (!anyBudget) return 'Fused and measured (no size budget set)'
  if (withinBudget(report.outputs))
    return `Every output is within its size${anyQuality ? ' and quality' : ''} budget`
  return report.onOverBudget === 'fail'
    ? `${over}: this step fails`
    : `${over} (warn only: this step passes)`
}

type Cell = { data: string; header?: boolean }

/** One row per output (and per output the baseline had and this run has not), sizes and verdicts. */
function sizeTable(report: RunReport): Cell[][] {
  const vs = report.deltas ? deltaColumn(report.deltas) : null
  const rows = report.outputs.map(o => {
    const v = o.verdict
    return [
      { data: `<code>${html(o.name)}</code>` },
      {
        data: `${html(o.format)}${o.bytesByDtype ? `<br><sub>${html(dtypeMix(o.bytesByDtype))}</sub>` : ''}`
      },
      { data: sizeCell(o) },
      ...(report.baseBytes ? [{ data: changeCell(o, report.baseBytes) }] : []),
      ...(vs ? [{ data: html(vs.cell(o.name)) }] : []),
      { data: o.parameters === null ? '—' : o.parameters.toLocaleString('en-US') },
      { data: o.bitsPerWeight === null ? '—' : o.bitsPerWeight.toFixed(2) },
      {
        data: v.budget
          ? `${formatDecimal(v.budget.bytes)}<br><sub>${html(v.budget.text)}</sub>`
          : '—'
      },
      { data: headroomCell(v) },
      { data: statusCell(v, report.onOverBudget) + barLine(o.bytes, v) }
    ]
  })
  const header = [
    'Output',
    'Format',
    'Size',
    ...(report.baseBytes ? ['Change from base'] : []),
    ...(vs ? [html(vs.header)] : []),
    'Parameters',
    'Bits/weight',
    'Budget',
    'Headroom',
    'Status'
  ].map(data => ({ data, header: true }))
  // An output the baseline had and this run has not: its name and the change, dashes elsewhere.
  const gone = (vs?.gone ?? []).map(g =>
    header.map(h => ({
      data:
        h.data === 'Output'
          ? `<code>${html(g.name)}</code>`
          : vs?.header && h.data === html(vs.header)
            ? html(g.cell)
            : '—'
    }))
  )
  return [header, ...rows, ...gone]
}

/** The "How this was measured" list: inputs, tools, commands, disk, quality, manifest, units. */
function howMeasured(report: RunReport): string[] {
  return [
    `Base model: ${code(report.baseModel)}`,
    `Adapters: ${code(report.adapterPath)}`,
    `mlx-lm ${html(report.mlxLm.version)} (${code(report.mlxLm.python)}, ${html(report.mlxLm.source)})`,
    ...(report.llamaCpp
      ? [
          `llama.cpp ${html(report.llamaCpp.version)} (${html(report.llamaCpp.commit.slice(0, 12))})`
        ]
      : []),
    ...report.commands.map(c => `${html(c.what)}: ${code(c.argv.join(' '))}`),
    'Tools write into staging folders beside the outputs (<code>.NAME.fuse-*</code>, <code>.NAME.work-*</code>) that are moved into place only after every check passed.',
    `Peak disk use: ${formatSize(report.peakDiskBytes)}, the most this run had written and not yet removed at once, measured after each step.`,
    ...(report.quality ? [qualityDetails(report.quality)] : []),
    ...(report.qualityChart
      ? [`Size against mean KL divergence, every output: ${code(report.qualityChart)}`]
      : []),
    `Manifest: ${code(report.manifestPath)}`,
    'Sizes are exact sums of file sizes; kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.'
  ]
}

/** The bar under the status, `<br><code>██████░░░░ 61 %</code>`; nothing without a budget. */
function barLine(bytes: number, v: Parameters<typeof verdictBar>[1]): string {
  const bar = verdictBar(bytes, v)
  return bar ? `<br><code>${html(bar)}</code>` : ''
}

/** `+4.1 %`: a perplexity change, always signed, one decimal. */
function signedPercent(x: number): string {
  const pct = x * 100
  return `${pct > 0 ? '+' : pct < 0 ? '−' : ''}${Math.abs(pct).toFixed(1)} %`
}

/** Every output's figures against base + adapters, beside its size. */
function qualityTable(
  s: typeof core.summary,
  outputs: RunReport['outputs'],
  q: QualitySummary
): void {
  const budgets = outputs.some(o => o.qualityVerdict)
  const header = [
    'Output',
    'Size',
    'Bits/weight',
    'Perplexity',
    'Change',
    'Mean KL divergence',
    'Top-1 agreement',
    ...(budgets ? ['Quality budget'] : [])
  ].map(data => ({ data, header: true }))
  const rows = outputs.map(o => {
    const f = o.quality
    return [
      { data: `<code>${html(o.name)}</code>` },
      { data: formatSize(o.bytes) },
      { data: o.bitsPerWeight === null ? '—' : o.bitsPerWeight.toFixed(2) },
      { data: f ? f.ppl.toFixed(3) : '—' },
      { data: f ? signedPercent(f.pplChange) : '—' },
      { data: f ? f.meanKld.toExponential(2) : '—' },
      { data: f ? `${(f.agreement * 100).toFixed(2)} %` : '—' },
      ...(budgets ? [{ data: qualityBudgetCell(o) }] : [])
    ]
  })
  s.addRaw(
    `<p><b>Quality against base + adapters</b> (perplexity ${q.reference.ppl.toFixed(3)} on ${q.chunking.scoredTokens.toLocaleString('en-US')} scored tokens of eval-data)</p>`,
    true
  )
  s.addTable([header, ...rows])
}

/** `✅ within` the entries, or `❌` and each failed check in words. */
function qualityBudgetCell(o: RunReport['outputs'][number]): string {
  const v = o.qualityVerdict
  if (!v || v.status === 'no-budget') return '—'
  const entries = v.checks.map(c => html(c.entry.text)).join('<br>')
  if (v.status === 'within') return `✅ within<br><sub>${entries}</sub>`
  const failed = v.checks.filter(c => !c.pass).map(c => html(qualityCheckMessage(o.name, c)))
  return `❌ over<br><sub>${failed.join('<br>')}</sub>`
}

/** How the quality figures were made: the data, its chunking, the reference, the time. */
function qualityDetails(q: QualitySummary): string {
  const d = q.evalData
  return [
    `Quality: eval-data ${code(d.path)} (${html(d.format)}, ${d.documents} document${d.documents === 1 ? '' : 's'}, ${d.bytes.toLocaleString('en-US')} bytes, sha256 <code>${html(d.sha256)}</code>);`,
    `${q.chunking.tokens.toLocaleString('en-US')} tokens (at most ${q.chunking.maxTokens.toLocaleString('en-US')}) in ${q.chunking.chunks} chunks of ${q.chunking.context}${q.chunking.bosReplaced ? ', each starting with BOS' : ''}, the second half of each scored (${q.chunking.scoredTokens.toLocaleString('en-US')} tokens), as llama-perplexity does;`,
    `the reference is base + adapters as mlx_lm loads them, evaluated once (${q.reference.vocabulary.toLocaleString('en-US')} vocabulary entries, ${formatSize(q.reference.bytes)} in llama-perplexity's --kl-divergence-base format, removed after); MLX outputs were scored by the action's helper in MLX, GGUF files by llama-perplexity --kl-divergence;`,
    `the base without the adapters is ${q.adapterEffect.meanKld.toExponential(2)} (mean KL divergence) from it, ${(q.adapterEffect.agreement * 100).toFixed(1)} % top-1 agreement: the adapters' own effect;`,
    `a 16-bit GGUF above ${q.conversionThreshold} mean KL divergence is a conversion finding (the 16-bit rounding of the reference's log-probabilities alone costs about that);`,
    `the quality step took ${q.seconds.toFixed(1)} s.`
  ].join(' ')
}

/** A failed run still leaves a summary that says what went wrong (no outputs are reported). */
export async function writeFailureSummary(message: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary
    .addHeading('mlx-fuse-action', 2)
    .addRaw(`<p><b>❌ Failed:</b> ${html(message)}</p>`, true)
    .addRaw('<p>No outputs are reported for this run.</p>', true)
    .write()
    .catch(() => undefined)
}
