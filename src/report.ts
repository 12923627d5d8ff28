/** The job summary, the step outputs, the budget annotations and the manifest. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import { formatDecimal, formatSize } from './size.js'
import type { Diagnosis, MeasuredOutput, Verdict } from './types.js'

export const MANIFEST_SCHEMA_VERSION = 1

export interface RunReport {
  baseModel: string
  /** Size of a local base model folder, for the MLX output's change against it; null for a repo id. */
  baseBytes: number | null
  adapterPath: string
  mlxLm: { version: string; python: string; source: string }
  llamaCpp: { version: string; commit: string; dir: string } | null
  /** Every external command that produced an output, as argv. */
  commands: Array<{ what: string; argv: string[] }>
  outputs: MeasuredOutput[]
  verdicts: Verdict[]
  diagnoses: Diagnosis[]
  /** Extra plain-words lines (e.g. the GGUF auto choice), shown under the table. */
  notes: string[]
  onOverBudget: 'fail' | 'warn'
  manifestPath: string
}

export function withinBudget(verdicts: readonly Verdict[]): boolean {
  return verdicts.every(v => v.status !== 'over')
}

/** One message per output over budget, e.g. `mlx: 6.07 GB (5.65 GiB) is over its budget of 2.50 GB by 143%`. */
export function overBudgetMessage(output: MeasuredOutput, v: Verdict): string {
  return `${output.name}: ${formatSize(output.bytes)} is over its budget of ${formatDecimal(v.budget!.bytes)} by ${(v.overPercent ?? 0).toFixed(0)}% (size-budget entry "${v.budget!.text}")`
}

export function annotate(report: RunReport): void {
  for (const v of report.verdicts) {
    if (v.status !== 'over') continue
    const output = report.outputs.find(o => o.name === v.output)!
    // The error says why in a few words; the warning of the same output says it in full.
    const why = report.diagnoses.find(d => d.level === 'warning' && d.output === output.name)
    const message = `${overBudgetMessage(output, v)}.${why ? ` ${why.title}.` : ''}`
    const props = { title: 'Size budget exceeded' }
    if (report.onOverBudget === 'fail') core.error(message, props)
    else core.warning(message, props)
  }
  for (const d of report.diagnoses) {
    if (d.level === 'warning') core.warning(d.text, { title: d.title })
    else core.notice(d.text, { title: d.title })
  }
}

export function setOutputs(report: RunReport): void {
  const mlx = report.outputs.find(o => o.kind === 'mlx')
  const ggufs = report.outputs.filter(o => o.kind === 'gguf')
  if (mlx) {
    core.setOutput('fused-path', mlx.path)
    core.setOutput('fused-bytes', String(mlx.bytes))
  }
  core.setOutput('within-budget', String(withinBudget(report.verdicts)))
  core.setOutput('manifest', report.manifestPath)
  core.setOutput(
    'sizes',
    JSON.stringify(Object.fromEntries(report.outputs.map(o => [o.name, o.bytes])))
  )
  core.setOutput('gguf-paths', JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.path]))))
  core.setOutput(
    'gguf-bytes',
    JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.bytes])))
  )
}

/** The dtype mix of the tensor data, largest first: `U32 76%, BF16 24%`. */
export function dtypeMix(bytesByDtype: Record<string, number>): string {
  const total = Object.values(bytesByDtype).reduce((a, b) => a + b, 0)
  if (total === 0) return ''
  return Object.entries(bytesByDtype)
    .sort((a, b) => b[1] - a[1])
    .map(
      ([dtype, bytes]) =>
        `${dtype} ${((bytes / total) * 100).toFixed(bytes / total < 0.01 ? 1 : 0)}%`
    )
    .join(', ')
}

/** `+0.5 %`, `−72 %`, `<0.1 %`: a change in percent, one decimal below 10 %, never a bare 0. */
export function percentChange(delta: number, base: number): string {
  if (delta === 0) return '0 %'
  const pct = Math.abs((delta / base) * 100)
  if (pct < 0.1) return '<0.1 %'
  return `${delta > 0 ? '+' : '−'}${pct.toFixed(pct < 10 ? 1 : 0)} %`
}

/** `+4.07 GB (+204 %)`: how much the fuse grew or shrank the model against its base. */
export function changeFromBase(bytes: number, baseBytes: number): string {
  const delta = bytes - baseBytes
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : ''
  return `${sign}${formatDecimal(Math.abs(delta))} (${percentChange(delta, baseBytes)})`
}

/** The size, then the exact bytes and file count on their own line. */
function sizeCell(o: MeasuredOutput): string {
  const exact = `${o.bytes.toLocaleString('en-US')} bytes in ${o.files} file${o.files === 1 ? '' : 's'}`
  return `${formatSize(o.bytes)}<br><sub>${exact}</sub>`
}

/** The MLX output's change against a local base model (its own column); `—` for the others. */
function changeCell(o: MeasuredOutput, baseBytes: number): string {
  if (o.kind !== 'mlx') return '—'
  return `${changeFromBase(o.bytes, baseBytes)}<br><sub>base ${formatDecimal(baseBytes)}</sub>`
}

function statusCell(v: Verdict, mode: 'fail' | 'warn'): string {
  if (v.status === 'no-budget') return 'no budget'
  if (v.status === 'within') return '✅ within budget'
  const pct = `${(v.overPercent ?? 0).toFixed(0)}%`
  return mode === 'fail' ? `❌ over by ${pct}` : `⚠️ over by ${pct} (warn only)`
}

function headroomCell(v: Verdict): string {
  if (v.headroomBytes === null) return '—'
  return `${v.headroomBytes >= 0 ? '+' : '−'}${formatSize(Math.abs(v.headroomBytes))}`
}

export async function writeSummary(report: RunReport): Promise<void> {
  const ok = withinBudget(report.verdicts)
  const anyBudget = report.verdicts.some(v => v.status !== 'no-budget')
  const headline = !anyBudget
    ? 'Fused and measured (no size budget set)'
    : ok
      ? 'Every output is within its size budget'
      : report.onOverBudget === 'fail'
        ? 'Over the size budget: this step fails'
        : 'Over the size budget (warn only: this step passes)'
  const rows = report.outputs.map(o => {
    const v = report.verdicts.find(x => x.output === o.name)!
    return [
      { data: `<code>${o.name}</code>` },
      {
        data: `${escapeHtml(o.format)}${o.bytesByDtype ? `<br><sub>${dtypeMix(o.bytesByDtype)}</sub>` : ''}`
      },
      { data: sizeCell(o) },
      ...(report.baseBytes ? [{ data: changeCell(o, report.baseBytes) }] : []),
      { data: o.parameters === null ? '—' : o.parameters.toLocaleString('en-US') },
      { data: o.bitsPerWeight === null ? '—' : o.bitsPerWeight.toFixed(2) },
      { data: v.budget ? `${formatDecimal(v.budget.bytes)}<br><sub>${v.budget.text}</sub>` : '—' },
      { data: headroomCell(v) },
      { data: statusCell(v, report.onOverBudget) }
    ]
  })
  const header = [
    'Output',
    'Format',
    'Size',
    ...(report.baseBytes ? ['Change from base'] : []),
    'Parameters',
    'Bits/weight',
    'Budget',
    'Headroom',
    'Status'
  ].map(data => ({ data, header: true }))
  const s = core.summary.addHeading('mlx-fuse-action', 2).addRaw(`<p><b>${headline}</b></p>`, true)
  s.addTable([header, ...rows])
  for (const d of report.diagnoses) {
    s.addRaw(`<p>${d.level === 'warning' ? '⚠️' : 'ℹ️'} <b>${d.title}.</b> ${d.text}</p>`, true)
  }
  for (const note of report.notes) s.addRaw(`<p>${note}</p>`, true)
  const code = (text: string): string => `<code>${escapeHtml(text)}</code>`
  const details = [
    `Base model: ${code(report.baseModel)}`,
    `Adapters: ${code(report.adapterPath)}`,
    `mlx-lm ${escapeHtml(report.mlxLm.version)} (${code(report.mlxLm.python)}, ${report.mlxLm.source})`,
    ...(report.llamaCpp
      ? [`llama.cpp ${report.llamaCpp.version} (${report.llamaCpp.commit.slice(0, 12)})`]
      : []),
    ...report.commands.map(c => `${c.what}: ${code(c.argv.join(' '))}`),
    'Tools write into staging folders beside the outputs (<code>.NAME.fuse-*</code>, <code>.NAME.work-*</code>) that are moved into place only after every check passed.',
    `Manifest: ${code(report.manifestPath)}`,
    'Sizes are exact sums of file sizes; kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.'
  ]
  s.addDetails('How this was measured', `<ul>${details.map(d => `<li>${d}</li>`).join('')}</ul>`)
  await s.write()
}

/** The manifest (schemaVersion 1), written beside the output, never inside it. */
export async function writeManifest(
  report: RunReport,
  extra: Record<string, unknown>
): Promise<void> {
  const manifest = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: 'mlx-fuse-action',
    createdAt: new Date().toISOString(),
    baseModel: report.baseModel,
    baseModelBytes: report.baseBytes,
    adapterPath: report.adapterPath,
    mlxLm: report.mlxLm,
    llamaCpp: report.llamaCpp,
    ...extra,
    withinBudget: withinBudget(report.verdicts),
    onOverBudget: report.onOverBudget,
    outputs: report.outputs.map(o => {
      const v = report.verdicts.find(x => x.output === o.name)!
      return {
        ...o,
        budgetBytes: v.budget?.bytes ?? null,
        budget: v.budget?.text ?? null,
        headroomBytes: v.headroomBytes,
        status: v.status
      }
    }),
    diagnoses: report.diagnoses,
    commands: report.commands
  }
  await fs.writeFile(report.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
}

/** A failed run still leaves a summary that says what went wrong (no outputs are reported). */
export async function writeFailureSummary(message: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary
    .addHeading('mlx-fuse-action', 2)
    .addRaw(`<p><b>❌ Failed:</b> ${escapeHtml(message)}</p>`, true)
    .addRaw('<p>No outputs are reported for this run.</p>', true)
    .write()
    .catch(() => undefined)
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
