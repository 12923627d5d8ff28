/** The text bar of an output's size against its budget, and the log's lines (src/report/bar.ts, log-lines.ts). */
import { describe, expect, it } from '@jest/globals'
import { judge, judgeGrowth, parseSizeBudget } from '../../src/budget/index.js'
import { sizeBar, sizeLines, verdictBar, type RunReport } from '../../src/report/index.js'
import type { MeasuredOutput } from '../../src/core/types.js'

const output = (name: string, bytes: number): MeasuredOutput => ({
  name,
  kind: name === 'mlx' ? 'mlx' : 'gguf',
  path: '/x',
  bytes,
  files: 1,
  format: 'f',
  parameters: null,
  bitsPerWeight: null
})

describe('sizeBar', () => {
  it('fills one cell per tenth of the budget, rounding down, and reads the percent beside it', () => {
    expect(sizeBar(61, 100)).toBe('██████░░░░ 61 %')
    expect(sizeBar(0, 100)).toBe('░░░░░░░░░░ 0 %')
    expect(sizeBar(999_999, 1_000_000)).toBe('█████████░ 99 %') // never a full bar under budget
    expect(sizeBar(1_000_000, 1_000_000)).toBe('██████████ 100 %')
    expect(sizeBar(6_070_000_000, 2_500_000_000)).toBe('██████████ 242 %')
    // Exact for sizes whose product with 100 is beyond 2^53.
    expect(sizeBar(9_007_199_254_740_990, 9_007_199_254_740_991)).toBe('█████████░ 99 %')
  })

  it('says over budget in words, and which limit, from the verdict', () => {
    const { budgets, growth } = parseSizeBudget('mlx=2.5GB, gguf=+5%', new Set())
    const [mlx, q4] = judge([output('mlx', 6_070_000_000), output('Q4_K_M', 1_100)], budgets)
    expect(verdictBar(mlx.bytes, mlx.verdict)).toBe('██████████ 242 % (over budget)')
    expect(verdictBar(q4.bytes, q4.verdict)).toBeNull()
    const [grown] = judgeGrowth([q4], growth, {
      label: 'main@1a2b3c4',
      sizes: { Q4_K_M: 1_000 }
    }).outputs
    expect(verdictBar(grown.bytes, grown.verdict)).toBe('██████████ 104 % (over its growth limit)')
    const within = judge([output('mlx', 1_525_000_000)], budgets)[0]
    expect(verdictBar(within.bytes, within.verdict)).toBe('██████░░░░ 61 %')
  })
})

describe('the log', () => {
  it('has one line per output with its size, bar and change, and one per output gone', () => {
    const { budgets } = parseSizeBudget('mlx=2.5GB', new Set())
    const outputs = judge([output('mlx', 1_525_000_000), output('Q8_0', 2_000)], budgets)
    const report = {
      outputs,
      deltas: {
        label: 'main@1a2b3c4',
        commit: '1a2b3c4'.padEnd(40, '0'),
        branch: 'main',
        threshold: null,
        history: [],
        rows: [
          {
            name: 'mlx',
            status: 'changed',
            bytes: 1_525_000_000,
            baseBytes: 1_500_000_000,
            delta: 25_000_000
          },
          { name: 'Q8_0', status: 'new', bytes: 2_000, baseBytes: null, delta: 2_000 },
          { name: 'F16', status: 'gone', bytes: null, baseBytes: 3_000, delta: -3_000 }
        ]
      }
    } as unknown as RunReport
    expect(sizeLines(report)).toEqual([
      'mlx: 1.53 GB (1.42 GiB), ██████░░░░ 61 % of "mlx=2.5GB", vs main@1a2b3c4 +25.00 MB (+23.84 MiB), +1.7 %',
      'Q8_0: 2.00 kB (1.95 KiB), no budget, vs main@1a2b3c4 new output (+2.00 kB (+1.95 KiB))',
      'F16: vs main@1a2b3c4 gone (was 3.00 kB (2.93 KiB))'
    ])
  })
})
