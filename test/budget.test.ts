import { describe, expect, it } from '@jest/globals'
import { budgetFor, parseBudgets, unusedTypeBudgets, verdictFor } from '../src/budget.js'
import { ActionError, type MeasuredOutput } from '../src/types.js'

const TYPES = new Set(['Q4_K_M', 'Q8_0', 'F16', 'Q5_K_M'])
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

describe('parseBudgets', () => {
  it('reads nothing from an empty input', () => {
    expect(parseBudgets('', TYPES)).toEqual([])
    expect(parseBudgets(' \n , ', TYPES)).toEqual([])
  })

  it('reads one bare size as a budget for every output', () => {
    expect(parseBudgets('2.5GB', TYPES)).toEqual([
      { target: 'all', bytes: 2_500_000_000, text: '2.5GB' }
    ])
  })

  it('reads TARGET=SIZE entries separated by commas and newlines, case-insensitive', () => {
    const entries = parseBudgets('MLX=2.5GB, gguf = 2GiB\nq4_k_m=1500MB', TYPES)
    expect(entries.map(e => [e.target, e.bytes])).toEqual([
      ['mlx', 2_500_000_000],
      ['gguf', 2 * 1024 ** 3],
      ['Q4_K_M', 1_500_000_000]
    ])
  })

  it.each([
    ['2GB, mlx=1GB', /mixes a bare size "2GB"/],
    ['2GB, 3GB', /2 bare sizes/],
    ['mlx=1GB, MLX=2GB', /more than once/],
    ['q9_z=1GB', /unknown target "q9_z"/],
    ['mlx=2G', /did you mean 2GB or 2GiB/],
    ['mlx=', /size-budget entry "mlx="/],
    ['mlx: 2MB', /entry "mlx: 2MB" separates target and size with a colon; write it as mlx=2MB\./],
    ['mlx=2MB\ngguf:1.5 GB', /write it as gguf=1\.5 GB\./]
  ])('refuses %j', (text, message) => {
    expect(() => parseBudgets(text, TYPES)).toThrow(ActionError)
    expect(() => parseBudgets(text, TYPES)).toThrow(message)
  })
})

describe('budgetFor and verdicts', () => {
  const entries = parseBudgets('all=10GB, gguf=3GB, Q8_0=4GB', TYPES)

  it('picks the most specific entry', () => {
    expect(budgetFor(entries, output('Q8_0', 1))?.target).toBe('Q8_0')
    expect(budgetFor(entries, output('Q4_K_M', 1))?.target).toBe('gguf')
    expect(budgetFor(entries, output('mlx', 1))?.target).toBe('all')
    expect(budgetFor(parseBudgets('gguf=1GB', TYPES), output('mlx', 1))).toBeNull()
  })

  it('says by how much an output is over, and fails closed at one byte over', () => {
    const [mlxBudget] = parseBudgets('mlx=2.5GB', TYPES)
    const v = verdictFor(output('mlx', 6_070_000_000), [mlxBudget])
    expect(v.status).toBe('over')
    expect(v.headroomBytes).toBe(2_500_000_000 - 6_070_000_000)
    expect(v.overPercent).toBeCloseTo(142.8, 1)
    expect(verdictFor(output('mlx', 2_500_000_001), [mlxBudget]).status).toBe('over')
    expect(verdictFor(output('mlx', 2_500_000_000), [mlxBudget])).toMatchObject({
      status: 'within',
      headroomBytes: 0,
      overPercent: null
    })
    expect(verdictFor(output('mlx', 5), []).status).toBe('no-budget')
  })

  it('lists type budgets for types the run does not produce', () => {
    expect(unusedTypeBudgets(entries, ['Q4_K_M']).map(e => e.target)).toEqual(['Q8_0'])
    expect(unusedTypeBudgets(entries, ['Q8_0'])).toEqual([])
    // `gguf` is unused only when the run makes no GGUF at all.
    expect(unusedTypeBudgets(entries, []).map(e => e.target)).toEqual(['gguf', 'Q8_0'])
  })
})
