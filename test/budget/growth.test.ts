/** Growth limits in size-budget: parsing, and judging against a baseline (src/budget/growth.ts). */
import { describe, expect, it } from '@jest/globals'
import {
  growthLimitBytes,
  judge,
  judgeGrowth,
  overBudgetMessage,
  parseBudgets,
  parseSizeBudget,
  withinBudget
} from '../../src/budget/index.js'
import { statusCell } from '../../src/report/format.js'
import { ActionError, type MeasuredOutput } from '../../src/core/types.js'

const TYPES = new Set(['Q4_K_M', 'Q8_0'])
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

describe('parsing growth limits', () => {
  it('reads +PERCENT and +SIZE beside an absolute size for the same target', () => {
    const parsed = parseSizeBudget('mlx=2.5GB, mlx=+5%\nq4_k_m=+200MB, gguf=+0.5 %', TYPES)
    expect(parsed.budgets).toEqual([{ target: 'mlx', bytes: 2_500_000_000, text: 'mlx=2.5GB' }])
    expect(parsed.growth).toEqual([
      { target: 'mlx', growth: { kind: 'percent', hundredths: 500 }, text: 'mlx=+5%' },
      { target: 'Q4_K_M', growth: { kind: 'bytes', bytes: 200_000_000 }, text: 'q4_k_m=+200MB' },
      { target: 'gguf', growth: { kind: 'percent', hundredths: 50 }, text: 'gguf=+0.5 %' }
    ])
    // parseBudgets (what gguf: auto and the absolute verdicts read) sees the absolute one only.
    expect(parseBudgets('mlx=2.5GB, mlx=+5%', TYPES).map(e => e.text)).toEqual(['mlx=2.5GB'])
    expect(parseSizeBudget('+1%', TYPES).growth).toEqual([
      { target: 'all', growth: { kind: 'percent', hundredths: 100 }, text: '+1%' }
    ])
    expect(parseSizeBudget('mlx=+0%', TYPES).growth[0].growth).toEqual({
      kind: 'percent',
      hundredths: 0
    })
  })

  it.each([
    [
      'mlx=+5%, MLX=+1%',
      /growth limit for target "MLX" more than once \("mlx=\+5%" and "MLX=\+1%"\)/
    ],
    ['mlx=+5.125%', /at most two decimals/],
    ['mlx=+-5%', /invalid growth limit/],
    ['mlx=+2G', /growth limit "mlx=\+2G".*did you mean 2GB or 2GiB/],
    ['mlx=+0MB', /at least 1 byte/]
  ])('refuses %j in one sentence', (text, message) => {
    expect(() => parseSizeBudget(text, TYPES)).toThrow(ActionError)
    expect(() => parseSizeBudget(text, TYPES)).toThrow(message)
  })
})

describe('judging growth against the baseline', () => {
  const base = { label: 'main@1a2b3c4', sizes: { mlx: 1_000_000_000, Q4_K_M: 400_000_000 } }

  it('allows exactly the growth written, in bytes, rounding a fraction of a byte down', () => {
    const [pct] = parseSizeBudget('mlx=+0.5%', TYPES).growth
    expect(growthLimitBytes(pct, 1_000_000_000)).toBe(1_005_000_000)
    expect(growthLimitBytes(pct, 999)).toBe(999 + 4) // 4.995 bytes allowed: 4
    const [abs] = parseSizeBudget('mlx=+200MB', TYPES).growth
    expect(growthLimitBytes(abs, 1_000_000_000)).toBe(1_200_000_000)
    // A size beyond 2^53 / 10000 stays exact (BigInt arithmetic).
    expect(growthLimitBytes(pct, 9_007_199_254_740)).toBe(9_007_199_254_740 + 45_035_996_273)
  })

  it('fails an output that grew past its limit where the absolute budget passes, and names that limit', () => {
    const { budgets, growth } = parseSizeBudget('mlx=2GB, mlx=+5%', TYPES)
    const grown = 1_050_000_001 // one byte past +5 %
    const judged = judgeGrowth(judge([output('mlx', grown)], budgets), growth, base)
    expect(judged.diagnoses).toEqual([])
    const v = judged.outputs[0].verdict
    expect(v).toMatchObject({
      status: 'over',
      budget: { target: 'mlx', bytes: 1_050_000_000, text: 'mlx=+5%' },
      headroomBytes: -1,
      growth: { baseBytes: 1_000_000_000, label: 'main@1a2b3c4' }
    })
    expect(withinBudget(judged.outputs)).toBe(false)
    if (v.status !== 'over') return
    expect(overBudgetMessage(judged.outputs[0], v)).toBe(
      'mlx: 1.05 GB (1001.36 MiB) grew by 50.00 MB (47.68 MiB) (+5.0 %) against main@1a2b3c4, over its growth limit of 1.05 GB (size-budget entry "mlx=+5%")'
    )
    expect(statusCell(v, 'fail')).toBe('❌ grew +5.0 %, over its growth limit')
    expect(statusCell(v, 'warn')).toBe('⚠️ grew +5.0 %, over its growth limit (warn only)')
    // At the limit exactly: within.
    const at = judgeGrowth(judge([output('mlx', 1_050_000_000)], budgets), growth, base)
    expect(at.outputs[0].verdict.status).toBe('within')
  })

  it('keeps the absolute verdict when both fail, and the tighter limit when both pass', () => {
    const { budgets, growth } = parseSizeBudget('mlx=1.01GB, mlx=+200MB', TYPES)
    const over = judgeGrowth(judge([output('mlx', 1_300_000_000)], budgets), growth, base)
    expect(over.outputs[0].verdict).toMatchObject({
      status: 'over',
      budget: { text: 'mlx=1.01GB' }
    })
    expect(over.outputs[0].verdict).not.toHaveProperty('growth')
    // 1.005 GB: 5 MB under the absolute budget, 195 MB under the growth limit.
    const tight = judgeGrowth(judge([output('mlx', 1_005_000_000)], budgets), growth, base)
    expect(tight.outputs[0].verdict).toMatchObject({ status: 'within', headroomBytes: 5_000_000 })
    // Limit 1.009 GB: 4 MB of headroom, less than the absolute budget's 5 MB.
    const { growth: tighter } = parseSizeBudget('mlx=+0.9%', TYPES)
    const g = judgeGrowth(judge([output('mlx', 1_005_000_000)], budgets), tighter, base)
    expect(g.outputs[0].verdict).toMatchObject({
      status: 'within',
      headroomBytes: 4_000_000,
      budget: { text: 'mlx=+0.9%' }
    })
  })

  it('a growth limit alone judges; a shrink is always within', () => {
    const { growth } = parseSizeBudget('gguf=+0%', TYPES)
    const shrunk = judgeGrowth(judge([output('Q4_K_M', 300_000_000)], []), growth, base)
    expect(shrunk.outputs[0].verdict).toMatchObject({
      status: 'within',
      headroomBytes: 100_000_000
    })
    const grown = judgeGrowth(judge([output('Q4_K_M', 400_000_001)], []), growth, base)
    expect(grown.outputs[0].verdict.status).toBe('over')
  })

  it('without a baseline, or for a new output, skips the limit with a notice and keeps the absolute verdict', () => {
    const { budgets, growth } = parseSizeBudget('mlx=2GB, mlx=+5%, Q8_0=+1%', TYPES)
    const outputs = judge([output('mlx', 1_900_000_000), output('Q8_0', 9)], budgets)
    const none = judgeGrowth(outputs, growth, null)
    expect(none.outputs).toEqual(outputs)
    expect(none.diagnoses).toEqual([
      {
        level: 'notice',
        title: 'Growth limit skipped',
        text: 'There is no baseline to compare with, so the growth limits "mlx=+5%" for mlx, "Q8_0=+1%" for Q8_0 are skipped; absolute budgets still apply.'
      }
    ])
    const fresh = judgeGrowth(outputs, growth, base)
    expect(fresh.outputs[0].verdict).toMatchObject({ status: 'over', budget: { text: 'mlx=+5%' } })
    expect(fresh.outputs[1].verdict.status).toBe('no-budget')
    expect(fresh.diagnoses).toEqual([
      {
        level: 'notice',
        output: 'Q8_0',
        title: 'Growth limit skipped',
        text: 'Q8_0 is new against the baseline main@1a2b3c4, so its growth limit "Q8_0=+1%" is skipped; its absolute budget, if any, still applies.'
      }
    ])
  })
})
