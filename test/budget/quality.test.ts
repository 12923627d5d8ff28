/**
 * quality-budget (src/budget/quality.ts): the entries parsed with size-budget's targets and
 * aliases, the most specific entry per metric, verdicts that fail closed on a missing figure, and
 * the run's verdict and failure counting quality beside size.
 */
import { describe, expect, it } from '@jest/globals'
import {
  judge,
  overBudgetFailure,
  parseBudgets,
  parseQualityBudgets,
  qualityCheckMessage,
  qualityVerdictFor,
  resolveBudgetTypes,
  unusedBudgetDiagnoses,
  withinBudget
} from '../../src/budget/index.js'
import { TYPE_ALIASES } from '../../src/gguf/quant-types.js'
import type { MeasuredOutput, OutputQuality } from '../../src/core/types.js'

const TYPES = new Set(['Q4_K_M', 'Q8_0', 'F16', 'Q2_K'])

const figures = (meanKld: number, agreement: number, pplChange: number): OutputQuality => ({
  ppl: 10 * (1 + pplChange),
  pplReference: 10,
  pplChange,
  meanKld,
  agreement,
  tokens: 255,
  scoredBy: 'llama-perplexity'
})

const output = (name: string, bytes: number, quality?: OutputQuality): MeasuredOutput => ({
  name,
  kind: name === 'mlx' ? 'mlx' : 'gguf',
  path: '/x',
  bytes,
  files: 1,
  format: 'f',
  parameters: null,
  bitsPerWeight: null,
  ...(quality ? { quality } : {})
})

describe('parseQualityBudgets', () => {
  it("reads the issue's three forms, resolving type aliases like size-budget", () => {
    expect(
      parseQualityBudgets('q4_k=kld:0.05, mlx=agreement:0.98\ngguf=ppl:+5%', TYPES, TYPE_ALIASES)
    ).toEqual([
      { target: 'Q4_K_M', metric: 'kld', limit: 0.05, text: 'q4_k=kld:0.05' },
      { target: 'mlx', metric: 'agreement', limit: 0.98, text: 'mlx=agreement:0.98' },
      { target: 'gguf', metric: 'ppl', limit: 0.05, text: 'gguf=ppl:+5%' }
    ])
    expect(parseQualityBudgets('all=agreement:97.5%', TYPES)[0].limit).toBeCloseTo(0.975, 12)
    expect(parseQualityBudgets('', TYPES)).toEqual([])
  })

  it('refuses what it cannot judge, naming the entry and the fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['Q4_K_M=0.05', /is not TARGET=METRIC:LIMIT.*Q4_K_M=kld:0\.05/],
      ['Q9=kld:0.05', /unknown target "Q9"/],
      ['gguf=bleu:0.5', /names the metric "bleu".*kld/],
      ['gguf=ppl:5', /has the limit "5".*ppl:\+5%/],
      ['mlx=agreement:1.5', /agreement:0\.98 or agreement:98%/],
      ['mlx=kld:-1', /has the limit "-1"/],
      ['gguf=kld:0.1, GGUF=kld:0.2', /gives kld for target "GGUF" more than once/]
    ]
    for (const [text, message] of cases) {
      expect(() => parseQualityBudgets(text, TYPES)).toThrow(message)
    }
    // one entry per target and metric: two metrics for one target are fine
    expect(parseQualityBudgets('gguf=kld:0.1, gguf=ppl:+2%', TYPES)).toHaveLength(2)
  })

  it('resolves through the checkout per metric (two metrics of one type are no twins)', () => {
    const entries = parseQualityBudgets('Q4_K_M=kld:0.05, Q4_K_M=ppl:+3%', TYPES)
    const canonical = (t: string): string => (t === 'Q4_K_M' ? 'Q4_K_M' : t)
    expect(
      resolveBudgetTypes(entries, canonical, 'quality-budget', (a, b) => a.metric === b.metric)
    ).toHaveLength(2)
  })
})

describe('quality verdicts', () => {
  const entries = parseQualityBudgets(
    'gguf=kld:0.01, Q2_K=kld:0.05, all=agreement:0.9, gguf=ppl:+5%',
    TYPES
  )

  it('takes the most specific entry per metric and judges each figure', () => {
    const q2 = qualityVerdictFor(output('Q2_K', 1, figures(0.03, 0.95, 0.02)), entries)
    expect(q2.status).toBe('within')
    expect(q2.checks.map(c => [c.entry.text, c.value, c.pass])).toEqual([
      ['Q2_K=kld:0.05', 0.03, true],
      ['all=agreement:0.9', 0.95, true],
      ['gguf=ppl:+5%', 0.02, true]
    ])
    // the same figures on Q8_0 meet gguf=kld:0.01, which they exceed
    const q8 = qualityVerdictFor(output('Q8_0', 1, figures(0.03, 0.95, 0.02)), entries)
    expect(q8.status).toBe('over')
    expect(q8.checks.filter(c => !c.pass).map(c => c.entry.text)).toEqual(['gguf=kld:0.01'])
    expect(qualityCheckMessage('Q8_0', q8.checks[0])).toBe(
      'Q8_0: mean KL divergence 0.0300 is over its quality budget of 0.0100 (quality-budget entry "gguf=kld:0.01")'
    )
    // agreement is a floor, not a ceiling
    const low = qualityVerdictFor(output('mlx', 1, figures(0, 0.85, 0)), entries)
    expect(low.status).toBe('over')
    expect(qualityCheckMessage('mlx', low.checks[0])).toBe(
      'mlx: top-1 agreement 85.0 % is under its quality budget of at least 90.0 % (quality-budget entry "all=agreement:0.9")'
    )
  })

  it('fails closed when a figure is missing', () => {
    const v = qualityVerdictFor(output('Q8_0', 1), entries)
    expect(v.status).toBe('over')
    expect(v.checks.every(c => c.value === null && !c.pass)).toBe(true)
    expect(qualityCheckMessage('Q8_0', v.checks[0])).toMatch(
      /no mean KL divergence was measured, so its quality budget of 0\.0100 fails closed/
    )
  })

  it('a quality budget fails a type the size budget passes: the run is over budget', () => {
    const size = parseBudgets('gguf=1GB', TYPES)
    const quality = parseQualityBudgets('Q2_K=kld:0.001', TYPES)
    const outputs = [
      output('Q8_0', 2_000_000, figures(0.00007, 1, 0)),
      output('Q2_K', 1_000_000, figures(0.0107, 1, 0.027))
    ]
    const judged = judge(outputs, size, quality)
    expect(judged.map(o => [o.name, o.verdict.status, o.qualityVerdict?.status])).toEqual([
      ['Q8_0', 'within', 'no-budget'],
      ['Q2_K', 'within', 'over']
    ])
    expect(withinBudget(judged)).toBe(false)
    expect(overBudgetFailure(judged, 'fail')).toBe(
      'Q2_K is over the quality budget; see the job summary for the figures, then choose a type with more bits per weight or relax quality-budget.'
    )
    expect(overBudgetFailure(judged, 'warn')).toBeNull()
    // without quality budgets the verdicts are the size ones alone, as before
    expect(judge(outputs, size)[1].qualityVerdict).toBeUndefined()
    expect(withinBudget(judge(outputs, size))).toBe(true)
  })

  it('warns of an entry for a type the run does not make, as size-budget does', () => {
    const quality = parseQualityBudgets('Q4_K_M=kld:0.05, gguf=ppl:+5%, mlx=kld:0.01', TYPES)
    const made = [output('mlx', 1), output('Q8_0', 1)]
    expect(unusedBudgetDiagnoses([], made, quality).map(d => d.title)).toEqual([
      'quality-budget entry "Q4_K_M=kld:0.05" is ignored'
    ])
    expect(unusedBudgetDiagnoses([], [output('mlx', 1)], quality).map(d => d.text)).toEqual([
      'quality-budget entry "Q4_K_M=kld:0.05" is for a GGUF type this run does not produce; it is ignored here.',
      'quality-budget entry "gguf=ppl:+5%" is for GGUF files and this run makes none; it is ignored here.'
    ])
  })
})
