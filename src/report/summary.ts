/** The job summary: the size table, the findings, the notes and how it was measured. */
import * as core from '@actions/core'
import { deltaColumn } from '../baseline/deltas.js'
import { withinBudget } from '../budget/index.js'
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
import type { RunReport } from './run-report.js'

export async function writeSummary(report: RunReport): Promise<void> {
  const ok = withinBudget(report.outputs)
  const anyBudget = report.outputs.some(o => o.verdict.status !== 'no-budget')
  const headline = !anyBudget
    ? 'Fused and measured (no size budget set)'
    : ok
      ? 'Every output is within its size budget'
      : report.onOverBudget === 'fail'
        ? 'Over the size budget: this step fails'
        : 'Over the size budget (warn only: this step passes)'
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
  const s = core.summary.addHeading('mlx-fuse-action', 2).addRaw(`<p><b>${headline}</b></p>`, true)
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
  s.addTable([header, ...rows, ...gone])
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
  const details = [
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
    `Manifest: ${code(report.manifestPath)}`,
    'Sizes are exact sums of file sizes; kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.'
  ]
  s.addDetails('How this was measured', `<ul>${details.map(d => `<li>${d}</li>`).join('')}</ul>`)
  await s.write().catch((error: unknown) => {
    s.emptyBuffer()
    throw new ActionError({
      problem: `Could not write the job summary to GITHUB_STEP_SUMMARY "${process.env.GITHUB_STEP_SUMMARY ?? ''}" (${(error as Error).message})`,
      fix: `the outputs were measured but no verdict is given without it, check the runner's summary file, then run again`
    })
  })
}

/** The bar under the status, `<br><code>██████░░░░ 61 %</code>`; nothing without a budget. */
function barLine(bytes: number, v: Parameters<typeof verdictBar>[1]): string {
  const bar = verdictBar(bytes, v)
  return bar ? `<br><code>${html(bar)}</code>` : ''
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
