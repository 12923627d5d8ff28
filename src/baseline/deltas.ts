/**
 * Each output's change against the baseline, exact in bytes, and its plain-text rendering: the
 * summary puts it in HTML (escaped there), the pull-request comment in Markdown, so the text holds
 * no markup. Sizes as in the rest of the report: kB/MB/GB powers of 1000, KiB/MiB/GiB of 1024.
 */
import * as core from '@actions/core'
import type { DeltaThreshold } from '../core/config.js'
import { Outputs } from '../core/constants.js'
import { formatBinary, formatDecimal, formatSize } from '../core/size.js'
import type { HistoryPoint } from './history.js'

export interface DeltaRow {
  name: string
  /** `new`: no such output in the baseline; `gone`: in the baseline only. */
  status: 'changed' | 'no change' | 'new' | 'gone'
  bytes: number | null
  baseBytes: number | null
  /** bytes − baseBytes, an absent side counting as 0. */
  delta: number
}

/** What the report shows against a baseline. */
export interface Deltas {
  /** `main@1a2b3c4`. */
  label: string
  /** The baseline's commit (the output `baseline-sha`). */
  commit: string
  /** The branch it was saved on. */
  branch: string
  rows: DeltaRow[]
  threshold: DeltaThreshold | null
  /** The last baselines, oldest first (at most 20), for the trend. */
  history: HistoryPoint[]
}

/** One row per output now, then one per output the baseline had and this run has not. */
export function deltaRows(
  outputs: ReadonlyArray<{ name: string; bytes: number }>,
  baseSizes: Record<string, number>,
  threshold: DeltaThreshold | null
): DeltaRow[] {
  const rows: DeltaRow[] = outputs.map(o => {
    const base = Object.hasOwn(baseSizes, o.name) ? baseSizes[o.name] : null
    if (base === null) {
      return { name: o.name, status: 'new', bytes: o.bytes, baseBytes: null, delta: o.bytes }
    }
    const delta = o.bytes - base
    const status = underThreshold(delta, base, threshold) ? 'no change' : 'changed'
    return { name: o.name, status, bytes: o.bytes, baseBytes: base, delta }
  })
  for (const [name, base] of Object.entries(baseSizes)) {
    if (outputs.some(o => o.name === name)) continue
    rows.push({ name, status: 'gone', bytes: null, baseBytes: base, delta: -base })
  }
  return rows
}

/** A change of 0 is always "no change"; otherwise one smaller than the threshold. */
function underThreshold(delta: number, base: number, t: DeltaThreshold | null): boolean {
  if (delta === 0) return true
  if (t === null) return false
  if (t.kind === 'bytes') return Math.abs(delta) < t.bytes
  return Math.abs(delta) * 100 < t.percent * base
}

/**
 * `+412.00 kB (+402.34 KiB)`: a signed byte change in both unit forms, `+512 B` under 1000 bytes
 * (the comment's `deltaText` writes the same).
 */
export function signedSize(delta: number): string {
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±'
  const abs = Math.abs(delta)
  return abs < 1000
    ? `${sign}${formatDecimal(abs)}`
    : `${sign}${formatDecimal(abs)} (${sign}${formatBinary(abs)})`
}

/** `+21.0 %`, `−3 %`, `<0.1 %`: one decimal under 10 %. */
export function signedPercent(delta: number, base: number): string {
  const pct = Math.abs((delta / base) * 100)
  if (delta !== 0 && pct < 0.1) return `${delta > 0 ? '+' : '−'}<0.1 %`
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±'
  return `${sign}${pct.toFixed(pct < 10 ? 1 : 0)} %`
}

/** The column's header: `vs main@1a2b3c4`. */
export function deltaHeader(deltas: Pick<Deltas, 'label'>): string {
  return `vs ${deltas.label}`
}

/** One cell of the column, plain text. */
export function renderDelta(row: DeltaRow, threshold: DeltaThreshold | null): string {
  switch (row.status) {
    case 'new':
      return `new output (${signedSize(row.delta)})`
    case 'gone':
      return `gone (was ${formatSize(row.baseBytes ?? 0)})`
    case 'no change':
      return row.delta === 0
        ? 'no change'
        : `no change (${signedSize(row.delta)}, under ${threshold?.text ?? 'the threshold'})`
    case 'changed':
      return `${signedSize(row.delta)}, ${signedPercent(row.delta, row.baseBytes ?? 0)}`
  }
}

/** The output `deltas`: output name to the exact change in bytes (an absent side counts as 0). */
export function deltasOutput(rows: readonly DeltaRow[]): Record<string, number> {
  return Object.fromEntries(rows.map(r => [r.name, r.delta]))
}

/** The step outputs `baseline-sha` and `deltas`, set only when there was a baseline to compare. */
export function setDeltaOutputs(deltas: Deltas): void {
  core.setOutput(Outputs.BaselineSha, deltas.commit)
  core.setOutput(Outputs.Deltas, JSON.stringify(deltasOutput(deltas.rows)))
}

/** The summary's column, plain text: its header, a cell per output, and the outputs now gone. */
export function deltaColumn(deltas: Deltas): {
  header: string
  cell: (output: string) => string
  gone: Array<{ name: string; cell: string }>
} {
  const text = (r: DeltaRow): string => renderDelta(r, deltas.threshold)
  return {
    header: deltaHeader(deltas),
    cell: name => {
      const row = deltas.rows.find(r => r.name === name)
      return row ? text(row) : '—'
    },
    gone: deltas.rows.filter(r => r.status === 'gone').map(r => ({ name: r.name, cell: text(r) }))
  }
}

/**
 * The baseline as the pull-request comment takes it (src/comment/body.ts `BaselineView`, on the
 * h17-comment branch): deltas of the outputs the baseline also had (an output absent there is
 * new), and the history as commit and sizes, oldest first.
 */
export function baselineView(deltas: Deltas): {
  baselineSha: string
  branch: string
  deltas: Record<string, number>
  history: Array<{ sha: string; bytes: Record<string, number> }>
} {
  return {
    baselineSha: deltas.commit,
    branch: deltas.branch,
    deltas: deltasOutput(deltas.rows.filter(r => r.status !== 'new' && r.status !== 'gone')),
    history: deltas.history.map(p => ({ sha: p.commit, bytes: p.sizes }))
  }
}
