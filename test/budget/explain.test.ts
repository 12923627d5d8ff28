/** Over-budget outputs in words (src/budget/explain.ts). */
import { describe, expect, it } from '@jest/globals'
import { explainGgufOverBudget, judge, parseBudgets } from '../../src/budget/index.js'
import type { MeasuredOutput } from '../../src/core/types.js'

describe('explainGgufOverBudget', () => {
  const gguf = (name: string, bytes: number): MeasuredOutput => ({
    name,
    kind: 'gguf',
    path: `/g/${name}.gguf`,
    bytes,
    files: 1,
    format: `GGUF ${name}`,
    parameters: 1_475_840,
    bitsPerWeight: (bytes * 8) / 1_475_840
  })

  it('says how many bits per weight the type stores and which made type fits', () => {
    const outputs = [gguf('Q4_K_M', 915_360), gguf('Q8_0', 1_580_832)]
    const budgets = parseBudgets('gguf=1.2MB', new Set())
    const [d, ...rest] = explainGgufOverBudget(judge(outputs, budgets))
    expect(rest).toEqual([])
    expect(d).toMatchObject({
      level: 'warning',
      output: 'Q8_0',
      title: 'Q4_K_M fits where Q8_0 does not'
    })
    expect(d.text).toContain(
      'Q8_0 stores 8.57 bits per weight, so 1.48 million parameters take 1.58 MB (1.51 MiB), 32% over gguf=1.2MB.'
    )
    expect(d.text).toContain('From this run, Q4_K_M at 915.36 kB (893.91 KiB) fits that budget.')
  })

  it('explains nothing when every GGUF fits', () => {
    const outputs = [gguf('Q4_K_M', 915_360)]
    expect(explainGgufOverBudget(judge(outputs, []))).toEqual([])
  })
})
