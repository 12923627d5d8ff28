/** The log's account of a completed run: one line per output, its size, bar and change. */
import * as core from '@actions/core'
import { deltaColumn } from '../baseline/deltas.js'
import { logSafe } from '../core/log.js'
import { formatSize } from '../core/size.js'
import { verdictBar } from './bar.js'
import type { RunReport } from './run-report.js'

/**
 * `mlx: 2.96 MB (2.83 MiB), ██████░░░░ 61 % of "mlx=5MB", vs main@1a2b3c4 +12.00 MB (+11.44 MiB), +0.6 %`:
 * plain text, one line per output and per output gone.
 */
export function sizeLines(report: RunReport): string[] {
  const vs = report.deltas ? deltaColumn(report.deltas) : null
  const lines = report.outputs.map(o => {
    const bar = verdictBar(o.bytes, o.verdict)
    const parts = [
      `${o.name}: ${formatSize(o.bytes)}`,
      bar && o.verdict.budget ? `${bar} of "${o.verdict.budget.text}"` : 'no budget',
      ...(vs ? [`${vs.header} ${vs.cell(o.name)}`] : [])
    ]
    return parts.join(', ')
  })
  for (const g of vs?.gone ?? []) lines.push(`${g.name}: ${vs?.header} ${g.cell}`)
  return lines
}

/** Writes {@link sizeLines} to the log, each line made safe (no workflow command, no secret). */
export function logSizes(report: RunReport): void {
  for (const line of sizeLines(report)) core.info(logSafe(line))
}
