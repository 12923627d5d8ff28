/** The cells and text pieces of the job summary, each escaped where it holds outside text. */
import { html } from '../core/html.js'
import { formatDecimal, formatSize } from '../core/size.js'
import type { MeasuredOutput } from '../core/types.js'
import { growthPercent, type Verdict } from '../budget/index.js'

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
export function sizeCell(o: MeasuredOutput): string {
  const exact = `${o.bytes.toLocaleString('en-US')} bytes in ${o.files} file${o.files === 1 ? '' : 's'}`
  return `${formatSize(o.bytes)}<br><sub>${exact}</sub>`
}

/** The MLX output's change against a local base model (its own column); `—` for the others. */
export function changeCell(o: MeasuredOutput, baseBytes: number): string {
  if (o.kind !== 'mlx') return '—'
  return `${changeFromBase(o.bytes, baseBytes)}<br><sub>base ${formatDecimal(baseBytes)}</sub>`
}

export function statusCell(v: Verdict, mode: 'fail' | 'warn'): string {
  if (v.status === 'no-budget') return 'no budget'
  if (v.status === 'within') return '✅ within budget'
  if (v.growth) {
    // headroom = limit - size, so the size is limit - headroom
    const grew = `grew ${growthPercent(v.budget.bytes - v.headroomBytes, v.growth.baseBytes)}`
    return mode === 'fail'
      ? `❌ ${grew}, over its growth limit`
      : `⚠️ ${grew}, over its growth limit (warn only)`
  }
  const pct = `${v.overPercent.toFixed(0)}%`
  return mode === 'fail' ? `❌ over by ${pct}` : `⚠️ over by ${pct} (warn only)`
}

export function headroomCell(v: Verdict): string {
  if (v.headroomBytes === null) return '—'
  return `${v.headroomBytes >= 0 ? '+' : '−'}${formatSize(Math.abs(v.headroomBytes))}`
}

/** Text as inline code: escaped, then wrapped. */
export function code(text: string): string {
  return `<code>${html(text)}</code>`
}

/**
 * A note is plain text: escaped, then `backtick spans` become <code> and each further line a list
 * item. The only markup is what this function adds, so a path or a budget text stays text.
 */
export function noteHtml(note: string): string {
  const inline = (t: string): string => html(t).replace(/`([^`]+)`/g, '<code>$1</code>')
  const [head, ...items] = note.split('\n')
  const list =
    items.length > 0 ? `<ul>${items.map(i => `<li>${inline(i)}</li>`).join('')}</ul>` : ''
  return `<p>${inline(head)}${list}</p>`
}
