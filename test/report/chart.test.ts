/**
 * The size-against-KL-divergence chart (src/report/chart.ts): each scored output placed by its
 * bytes (linear) and its mean KL divergence (log scale), names escaped, unscored outputs left out.
 */
import { describe, expect, it } from '@jest/globals'
import type { MeasuredOutput } from '../../src/core/types.js'
import { chartPoints, qualityChartSvg } from '../../src/report/chart.js'

const out = (name: string, bytes: number, meanKld?: number): MeasuredOutput => ({
  name,
  kind: name === 'mlx' ? 'mlx' : 'gguf',
  path: '/x',
  bytes,
  files: 1,
  format: 'f',
  parameters: null,
  bitsPerWeight: null,
  ...(meanKld === undefined
    ? {}
    : {
        quality: {
          ppl: 1,
          pplReference: 1,
          pplChange: 0,
          meanKld,
          agreement: 1,
          tokens: 1,
          scoredBy: 'llama-perplexity' as const
        }
      })
})

describe('the quality chart', () => {
  const outputs = [
    out('F16', 4_000_000, 1.5e-5),
    out('Q8_0', 2_000_000, 6.7e-5),
    out('Q2_K', 1_000_000, 1.3e-2),
    out('unscored', 3_000_000)
  ]

  it('places a larger file further right and a larger divergence higher, on decades', () => {
    const { points, decades, maxBytes } = chartPoints(outputs)
    expect(points.map(p => p.name)).toEqual(['F16', 'Q8_0', 'Q2_K'])
    expect(maxBytes).toBe(4_000_000)
    const [f16, q8, q2] = points
    expect(f16.x).toBeGreaterThan(q8.x)
    expect(q8.x).toBeGreaterThan(q2.x)
    // linear in bytes: Q8_0 is half way between the axis (x at 0 bytes) and F16
    const zero = 2 * q8.x - f16.x
    expect(q2.x - zero).toBeCloseTo((f16.x - zero) / 4, 6)
    // up is smaller y: Q2_K above Q8_0 above F16, and 1.5e-5 between the 1e-5 and 1e-4 lines
    expect(q2.y).toBeLessThan(q8.y)
    expect(q8.y).toBeLessThan(f16.y)
    expect(decades.map(d => d.power)).toEqual([-5, -4, -3, -2, -1])
    const at = (p: number): number => decades.find(d => d.power === p)!.y
    expect(f16.y).toBeLessThan(at(-5))
    expect(f16.y).toBeGreaterThan(at(-4))
  })

  it('writes an SVG document with a point and an escaped label per scored output', () => {
    const svg = qualityChartSvg([...outputs, out('<b>&', 10, 0.5)])
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.match(/<circle /g)).toHaveLength(4)
    expect(svg).toContain('<title>&lt;b&gt;&amp;</title>')
    expect(svg).not.toContain('<b>&')
    expect(svg).not.toContain('unscored')
  })
})
