/** The job summary, the step outputs, the budget annotations and the manifest. */
import * as core from '@actions/core'
import { redact } from './core/redact.js'
import { GENERATOR, type MadeFolders } from './core/folders.js'
import { overwriteText } from './core/workspace.js'
import { formatDecimal, formatSize } from './core/size.js'
import { Outputs } from './core/constants.js'
import { deltaColumn, setDeltaOutputs, type Deltas } from './baseline/deltas.js'
import {
  ActionError,
  type Diagnosis,
  type MeasuredOutput,
  type Command,
  type JudgedOutput,
  type OverBudget,
  type PublishedArtifact,
  type Verdict,
  type VerdictStatus
} from './core/types.js'

export const MANIFEST_SCHEMA_VERSION = 1 as const

export interface RunReport {
  baseModel: string
  /** Size of a local base model folder, for the MLX output's change against it; null for a repo id. */
  baseBytes: number | null
  adapterPath: string
  mlxLm: { version: string; python: string; source: string }
  llamaCpp: { version: string; commit: string; dir: string } | null
  /** Every external command that produced an output, as argv. */
  commands: Array<{ what: string; argv: string[] }>
  /** Every output with its verdict. */
  outputs: JudgedOutput[]
  diagnoses: Diagnosis[]
  /**
   * Extra plain-text notes (e.g. the GGUF auto choice), shown under the table: `code` spans and
   * further lines (list items) are the only formatting; everything else is escaped.
   */
  notes: string[]
  onOverBudget: 'fail' | 'warn'
  manifestPath: string
  /** The most bytes the run held on disk at once (written and not yet removed), measured. */
  peakDiskBytes: number
  /** Each output's change against the baseline (src/baseline), or null/absent without one. */
  deltas?: Deltas | null
}

/** What run() adds to the manifest beside the report. */
export interface ManifestExtra {
  folders: MadeFolders
  fuse: {
    dequantize: boolean
    quantizeBits: number | null
    quantizeGroupSize: number
    adapters: object
  }
  baseModelSource: {
    repo: string
    revision: string
    commit: string
    endpoint: string
    snapshot: string
    downloadedBytes: number
  } | null
  gguf: object | null
}

/** The manifest's entry for one output: the measured output and its verdict, flat. */
export interface ManifestOutputV1 extends MeasuredOutput {
  budgetBytes: number | null
  budget: string | null
  headroomBytes: number | null
  status: VerdictStatus
}

/** The manifest of a completed run (schemaVersion 1): a public contract, read by workflows. */
export interface ManifestV1 extends ManifestExtra {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION
  generator: string
  createdAt: string
  status: 'complete'
  /** The commit the workflow ran on (GITHUB_SHA), or null outside GitHub Actions. */
  runCommit: string | null
  baseModel: string
  baseModelBytes: number | null
  adapterPath: string
  mlxLm: RunReport['mlxLm']
  llamaCpp: RunReport['llamaCpp']
  withinBudget: boolean
  onOverBudget: 'fail' | 'warn'
  peakDiskBytes: number
  outputs: ManifestOutputV1[]
  diagnoses: Diagnosis[]
  commands: Command[]
}

/** The manifest of a run that failed or has not finished (schemaVersion 1). */
export interface FailedManifestV1 {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION
  generator: string
  createdAt: string
  status: 'failed'
  error: string
  folders: MadeFolders
  withinBudget: false
  outputs: []
}

export function withinBudget(outputs: ReadonlyArray<{ verdict: Verdict }>): boolean {
  return outputs.every(o => o.verdict.status !== 'over')
}

/** One message per output over budget, e.g. `mlx: 6.07 GB (5.65 GiB) is over its budget of 2.50 GB by 143%`. */
export function overBudgetMessage(output: MeasuredOutput, v: OverBudget): string {
  return `${output.name}: ${formatSize(output.bytes)} is over its budget of ${formatDecimal(v.budget.bytes)} by ${v.overPercent.toFixed(0)}% (size-budget entry "${v.budget.text}")`
}

/** The step's failure message when an output is over budget and on-over-budget is fail, else null. */
export function overBudgetFailure(report: RunReport): string | null {
  if (withinBudget(report.outputs) || report.onOverBudget !== 'fail') return null
  const over = report.outputs.filter(o => o.verdict.status === 'over').map(o => o.name)
  return `${over.join(', ')} ${over.length === 1 ? 'is' : 'are'} over the size budget; see the job summary for sizes and why, then shrink the output or raise size-budget.`
}

export function annotate(report: RunReport): void {
  for (const output of report.outputs) {
    const v = output.verdict
    if (v.status !== 'over') continue
    // The error says why in a few words; the warning of the same output says it in full.
    const why = report.diagnoses.find(d => d.level === 'warning' && d.output === output.name)
    const message = `${overBudgetMessage(output, v)}.${why ? ` ${why.title}.` : ''}`
    const props = { title: 'Size budget exceeded' }
    if (report.onOverBudget === 'fail') core.error(redact(message), props)
    else core.warning(redact(message), props)
  }
  for (const d of report.diagnoses) {
    const props = { title: redact(d.title) }
    if (d.level === 'warning') core.warning(redact(d.text), props)
    else core.notice(redact(d.text), props)
  }
}

/** Sets the step outputs, within-budget last: a write failure leaves it unset. */
export function setOutputs(report: RunReport): void {
  try {
    setEachOutput(report)
  } catch (error) {
    throw new ActionError(
      `Could not write the step outputs to GITHUB_OUTPUT "${process.env.GITHUB_OUTPUT ?? ''}" (${(error as Error).message}); check the runner's file for step outputs, then run again.`
    )
  }
}

function setEachOutput(report: RunReport): void {
  const mlx = report.outputs.find(o => o.kind === 'mlx')
  const ggufs = report.outputs.filter(o => o.kind === 'gguf')
  if (mlx) {
    core.setOutput(Outputs.FusedPath, mlx.path)
    core.setOutput(Outputs.FusedBytes, String(mlx.bytes))
  }
  core.setOutput(Outputs.Manifest, report.manifestPath)
  core.setOutput(
    Outputs.Sizes,
    JSON.stringify(Object.fromEntries(report.outputs.map(o => [o.name, o.bytes])))
  )
  core.setOutput(
    Outputs.GgufPaths,
    JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.path])))
  )
  core.setOutput(
    Outputs.GgufBytes,
    JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.bytes])))
  )
  if (report.deltas) setDeltaOutputs(report.deltas)
  core.setOutput(Outputs.WithinBudget, String(withinBudget(report.outputs)))
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
  const pct = `${v.overPercent.toFixed(0)}%`
  return mode === 'fail' ? `❌ over by ${pct}` : `⚠️ over by ${pct} (warn only)`
}

function headroomCell(v: Verdict): string {
  if (v.headroomBytes === null) return '—'
  return `${v.headroomBytes >= 0 ? '+' : '−'}${formatSize(Math.abs(v.headroomBytes))}`
}

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
      { data: statusCell(v, report.onOverBudget) }
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
  const code = (text: string): string => `<code>${html(text)}</code>`
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
    `Peak disk use: ${formatSize(report.peakDiskBytes)} (${formatDecimal(report.peakDiskBytes)}), the most this run had written and not yet removed at once, measured after each step.`,
    `Manifest: ${code(report.manifestPath)}`,
    'Sizes are exact sums of file sizes; kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.'
  ]
  s.addDetails('How this was measured', `<ul>${details.map(d => `<li>${d}</li>`).join('')}</ul>`)
  await s.write().catch((error: unknown) => {
    s.emptyBuffer()
    throw new ActionError(
      `Could not write the job summary to GITHUB_STEP_SUMMARY "${process.env.GITHUB_STEP_SUMMARY ?? ''}" (${(error as Error).message}); the outputs were measured but no verdict is given without it, check the runner's summary file, then run again.`
    )
  })
}

/** The manifest (schemaVersion 1), written beside the output, never inside it. */
export async function writeManifest(report: RunReport, extra: ManifestExtra): Promise<void> {
  await writeJson(report.manifestPath, manifestV1(report, extra))
}

/** The manifest object {@link writeManifest} writes. */
export function manifestV1(report: RunReport, extra: ManifestExtra): ManifestV1 {
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: GENERATOR,
    createdAt: new Date().toISOString(),
    status: 'complete',
    runCommit: runCommit(),
    baseModel: report.baseModel,
    baseModelBytes: report.baseBytes,
    adapterPath: report.adapterPath,
    mlxLm: report.mlxLm,
    llamaCpp: report.llamaCpp,
    ...extra,
    withinBudget: withinBudget(report.outputs),
    onOverBudget: report.onOverBudget,
    peakDiskBytes: report.peakDiskBytes,
    outputs: report.outputs.map(({ verdict: v, ...o }) => ({
      ...o,
      budgetBytes: v.budget?.bytes ?? null,
      budget: v.budget?.text ?? null,
      headroomBytes: v.headroomBytes,
      status: v.status
    })),
    diagnoses: report.diagnoses,
    commands: report.commands
  }
}

/**
 * GITHUB_SHA, the commit the workflow run is for (a 40-hex SHA-1 or 64-hex SHA-256 object id);
 * publish-release passes it to `gh release create --target`, which otherwise tags the default
 * branch's head (cli/cli v2.60.0 pkg/cmd/release/create/create.go, `--target`).
 */
function runCommit(): string | null {
  const sha = (process.env.GITHUB_SHA ?? '').trim().toLowerCase()
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) ? sha : null
}

/**
 * The manifest of a run that failed (or has not finished): no sizes, withinBudget false, and the
 * folders it may have changed, so a later run with overwrite: true may replace them.
 */
export async function writeFailureManifest(
  manifestPath: string,
  folders: MadeFolders,
  error: string
): Promise<void> {
  const manifest: FailedManifestV1 = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: GENERATOR,
    createdAt: new Date().toISOString(),
    status: 'failed',
    error,
    folders,
    withinBudget: false,
    outputs: []
  }
  await writeJson(manifestPath, manifest)
}

async function writeJson(file: string, value: unknown): Promise<void> {
  // Redacted as JSON text: every string in the manifest (errors, endpoints, commands) at once.
  await overwriteText(file, `${redact(JSON.stringify(value, null, 2))}\n`).catch(
    (error: unknown) => {
      throw new ActionError(
        `Could not write the manifest "${file}" (${(error as NodeJS.ErrnoException).code ?? String(error)}); make sure the folder beside output-dir is writable and nothing else sits at that path, then run again.`
      )
    }
  )
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

/**
 * A note is plain text: escaped, then `backtick spans` become <code> and each further line a list
 * item. The only markup is what this function adds, so a path or a budget text stays text.
 */
function noteHtml(note: string): string {
  const inline = (t: string): string => html(t).replace(/`([^`]+)`/g, '<code>$1</code>')
  const [head, ...items] = note.split('\n')
  const list =
    items.length > 0 ? `<ul>${items.map(i => `<li>${inline(i)}</li>`).join('')}</ul>` : ''
  return `<p>${inline(head)}${list}</p>`
}

/**
 * The one escape for the job summary: every piece of user-, file- or tool-derived text (paths,
 * diagnoses, notes, formats, budget texts, commands, versions) goes through it before it is
 * placed in the summary's HTML; only the markup this module writes itself stays raw.
 */
export function html(text: string): string {
  // Text content: quotes may stay (attributes go through htmlAttribute). Secrets redacted first:
  // the runner masks the log only, not the summary. Line endings (CommonMark knows LF, CR and
  // CRLF) become character references: GitHub renders the summary as Markdown, where a blank line
  // ends an HTML block (<p>, <table>) and turns what follows back into live Markdown (an image, a
  // heading), so escaped text must never hold a line ending.
  return redact(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
}

/** The same for a double-quoted attribute value (an artifact link's href). */
export function htmlAttribute(text: string): string {
  return html(text).replace(/"/g, '&quot;')
}

/** What reached the artifact service, for the summary and the step outputs (src/artifacts). */
export interface ArtifactReport {
  status: 'uploaded' | 'disabled' | 'ghes' | 'failed'
  artifacts: PublishedArtifact[]
  held: Array<{ output: string; reason: string }>
  /** The upload error, when status is failed. */
  error?: string
  /** On a re-run: the earlier attempts' artifacts this attempt's uploads supersede. */
  superseded?: Array<{ name: string; id: number }>
}

/** `artifact-ids`, `artifact-digests`, `artifact-url`: JSON objects keyed by artifact name. */
export function setArtifactOutputs(report: ArtifactReport): void {
  const by = (pick: (a: ArtifactReport['artifacts'][number]) => unknown): string =>
    JSON.stringify(Object.fromEntries(report.artifacts.map(a => [a.name, pick(a)])))
  core.setOutput(
    Outputs.ArtifactIds,
    by(a => a.id)
  )
  core.setOutput(
    Outputs.ArtifactDigests,
    by(a => a.digest)
  )
  core.setOutput(
    Outputs.ArtifactUrl,
    by(a => a.url)
  )
}

/** Appends the artifacts table (after the size table): link, uploaded size, digest, time. */
export async function writeArtifactSummary(report: ArtifactReport): Promise<void> {
  const s = core.summary.addHeading('Artifacts', 3)
  if (report.status === 'disabled') s.addRaw('<p>Not uploaded (upload: false).</p>', true)
  if (report.status === 'ghes') {
    s.addRaw(
      '<p>⚠️ Not uploaded: GitHub Enterprise Server has no artifact service for this action; the outputs are on the runner at the paths above.</p>',
      true
    )
  }
  const rows = report.artifacts.map(a => [
    { data: `<code>${html(a.output)}</code>` },
    { data: `<a href="${htmlAttribute(a.url)}"><code>${html(a.name)}</code></a>` },
    { data: `${formatSize(a.bytes)}<br><sub>${a.bytes.toLocaleString('en-US')} bytes</sub>` },
    { data: `<code>${a.digest.slice(0, 'sha256:'.length + 12)}…</code>` },
    {
      data: `${a.seconds.toFixed(1)} s${a.seconds > 0 ? `, ${(a.bytes / a.seconds / 1e6).toFixed(1)} MB/s` : ''}`
    }
  ])
  for (const h of report.held) {
    rows.push([
      { data: `<code>${html(h.output)}</code>` },
      { data: `not uploaded: ${html(h.reason)}` },
      { data: '—' },
      { data: '—' },
      { data: '—' }
    ])
  }
  if (rows.length > 0) {
    const header = ['Output', 'Artifact', 'Uploaded', 'Digest', 'Time'].map(data => ({
      data,
      header: true
    }))
    s.addTable([header, ...rows])
  }
  if (report.superseded?.length) {
    const earlier = report.superseded.map(a => `<code>${html(a.name)}</code> (id ${a.id})`)
    s.addRaw(
      `<p>Re-run: these uploads supersede the earlier attempt's ${earlier.join(', ')}, which stay listed in the run; downloads take the newest artifact of a name.</p>`,
      true
    )
  }
  if (report.error) s.addRaw(`<p><b>❌ Upload failed:</b> ${html(report.error)}</p>`, true)
  await s.write()
}
