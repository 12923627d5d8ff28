/**
 * The job summary's trend: a table of the last baselines' sizes (oldest first) and this run's, one
 * column per output. The pull-request comment draws the same as a Mermaid chart; the summary keeps
 * a table, which reads exactly.
 */
import type { Deltas } from '../baseline/deltas.js'
import { html } from '../core/html.js'
import { formatSize } from '../core/size.js'

/** The table's HTML, or null without a history. Every name and commit is escaped. */
export function trendTable(
  deltas: Pick<Deltas, 'history' | 'branch'>,
  outputs: ReadonlyArray<{ name: string; bytes: number }>
): string | null {
  if (deltas.history.length === 0) return null
  const names = [
    ...new Set([...deltas.history.flatMap(p => Object.keys(p.sizes)), ...outputs.map(o => o.name)])
  ]
  const cell = (sizes: Record<string, number>, name: string): string =>
    Object.hasOwn(sizes, name) ? formatSize(sizes[name]) : '—'
  const now = Object.fromEntries(outputs.map(o => [o.name, o.bytes]))
  const rows = [
    ...deltas.history.map(p => [
      `<code>${html(p.commit.slice(0, 7))}</code>`,
      ...names.map(n => html(cell(p.sizes, n)))
    ]),
    ['this run', ...names.map(n => html(cell(now, n)))]
  ]
  const head = ['Baseline', ...names.map(n => `<code>${html(n)}</code>`)]
  return `<table><tr>${head.map(h => `<th>${h}</th>`).join('')}</tr>${rows
    .map(r => `<tr>${r.map(c => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</table>`
}
