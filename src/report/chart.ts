/**
 * The size-against-quality chart of a run with eval-data: every scored output as a point, its size
 * (decimal megabytes, linear) across and its mean KL divergence from base + adapters (log scale)
 * up, written by hand as SVG text (no image package: the native ones download binaries). Names
 * are escaped; nothing from outside reaches the markup unescaped.
 */
import { html } from '../core/html.js'
import { GENERATOR } from '../core/folders.js'
import { overwriteText, removeOwnFile } from '../core/workspace.js'
import { formatSize } from '../core/size.js'
import type { MeasuredOutput } from '../core/types.js'

/** The chart's second line, which marks it as the action's own (an earlier run's is removed). */
const MARK = `<desc>${GENERATOR}: size against mean KL divergence</desc>`

const W = 640
const H = 400
const LEFT = 80
const RIGHT = 30
const TOP = 40
const BOTTOM = 60
/** Divergences at or below this are drawn on the axis floor (a log scale has no zero). */
const FLOOR = 1e-6

export interface ChartPoint {
  name: string
  x: number
  y: number
}

/** Where each scored output lands: x from its bytes, y from log10 of its mean KL divergence. */
export function chartPoints(outputs: readonly MeasuredOutput[]): {
  points: ChartPoint[]
  /** Each power of ten on the axis and its height. */
  decades: Array<{ power: number; y: number }>
  maxBytes: number
} {
  const scored = outputs.filter(o => o.quality)
  const maxBytes = Math.max(1, ...scored.map(o => o.bytes))
  const logs = scored.map(o => Math.log10(Math.max(FLOOR, o.quality!.meanKld)))
  const lo = Math.floor(Math.min(-1, ...logs))
  const hi = Math.ceil(Math.max(lo + 1, ...logs))
  const decades = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
  const x = (bytes: number): number => LEFT + ((W - LEFT - RIGHT) * bytes) / maxBytes
  const y = (log: number): number => H - BOTTOM - ((H - TOP - BOTTOM) * (log - lo)) / (hi - lo)
  return {
    points: scored.map((o, i) => ({ name: o.name, x: x(o.bytes), y: y(logs[i]) })),
    decades: decades.map(power => ({ power, y: y(power) })),
    maxBytes
  }
}

/** The chart as an SVG document. */
export function qualityChartSvg(outputs: readonly MeasuredOutput[]): string {
  const { points, decades, maxBytes } = chartPoints(outputs)
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    MARK,
    `<title>Size against mean KL divergence from base + adapters</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">Size against mean KL divergence from base + adapters</text>`,
    `<line x1="${LEFT}" y1="${H - BOTTOM}" x2="${W - RIGHT}" y2="${H - BOTTOM}" stroke="black"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${H - BOTTOM}" stroke="black"/>`,
    ...decades.map(
      ({ power, y }) =>
        `<line x1="${LEFT - 4}" y1="${y.toFixed(1)}" x2="${W - RIGHT}" y2="${y.toFixed(1)}" stroke="#ddd"/><text x="${LEFT - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end">1e${power}</text>`
    ),
    `<text x="${LEFT}" y="${H - BOTTOM + 18}" text-anchor="middle">0</text>`,
    `<text x="${W - RIGHT}" y="${H - BOTTOM + 18}" text-anchor="end">${html(formatSize(maxBytes))}</text>`,
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 15}" text-anchor="middle">size</text>`,
    `<text transform="translate(18 ${(TOP + H - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">mean KL divergence (nats per token, log scale)</text>`,
    ...points.map(
      p =>
        `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="5" fill="#2563eb"><title>${html(p.name)}</title></circle><text x="${(p.x + 8).toFixed(1)}" y="${(p.y - 8).toFixed(1)}">${html(p.name)}</text>`
    ),
    '</svg>',
    ''
  ]
  return lines.join('\n')
}

/** Where a run's chart goes: beside the manifest, `<output-dir>.quality.svg`. */
export const qualityChartPath = (outputDir: string): string => `${outputDir}.quality.svg`

/**
 * Removes an earlier run's chart (the action's own: the file starts with its mark) as a run starts
 * writing, so a run without eval-data, or one that fails, leaves no chart beside its manifest that
 * looks like its own; a file of the same name the action did not write is left alone.
 */
export async function removeEarlierChart(outputDir: string): Promise<void> {
  await removeOwnFile(qualityChartPath(outputDir), MARK)
}

/** Writes the chart beside the manifest (`<output-dir>.quality.svg`), a file the action owns. */
export async function writeQualityChart(
  file: string,
  outputs: readonly MeasuredOutput[]
): Promise<void> {
  await overwriteText(file, qualityChartSvg(outputs))
}
