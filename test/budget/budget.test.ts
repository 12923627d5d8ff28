import { describe, expect, it } from '@jest/globals'
import {
  budgetFor,
  parseBudgets,
  resolveBudgetTypes,
  unusedTypeBudgets,
  verdictFor
} from '../../src/budget/index.js'
import { TYPE_ALIASES, canonicalType, parseQuantizeHelp } from '../../src/gguf/quant-types.js'
import { ActionError, type MeasuredOutput } from '../../src/core/types.js'

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

  it("gives gguf-adapter's LoRA and base GGUF their own targets, which gguf does not cover", () => {
    const adapter = parseBudgets('gguf=3GB, LoRA=20MB, all=10GB', TYPES)
    expect(budgetFor(adapter, output('lora', 1))?.text).toBe('LoRA=20MB')
    expect(budgetFor(adapter, output('base', 1))?.target).toBe('all')
    expect(budgetFor(parseBudgets('gguf=3GB', TYPES), output('base', 1))).toBeNull()
    expect(budgetFor(adapter, output('Q8_0', 1))?.target).toBe('gguf')
    // Unused in a run without gguf-adapter; gguf unused in a run with only the adapter's files.
    expect(unusedTypeBudgets(adapter, ['Q8_0']).map(e => e.target)).toEqual(['lora'])
    expect(unusedTypeBudgets(adapter, ['base', 'lora']).map(e => e.target)).toEqual(['gguf'])
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

describe('budget targets resolve like GGUF types (issue 6)', () => {
  const KNOWN = new Set([...TYPES, 'Q3_K_M', 'Q4_K_S', ...Object.keys(TYPE_ALIASES)])

  it('gates a Q4_K_M file with a Q4_K budget: a 915 kB file fails Q4_K=1kB', () => {
    const entries = parseBudgets('q4_K=1kB', KNOWN, TYPE_ALIASES)
    expect(entries).toEqual([{ target: 'Q4_K_M', bytes: 1000, text: 'q4_K=1kB' }])
    const v = verdictFor(output('Q4_K_M', 915_000), entries)
    expect(v.status).toBe('over')
    expect(unusedTypeBudgets(entries, ['Q4_K_M'])).toEqual([])
  })

  it("uses the checkout's own llama-quantize aliases once they are known", () => {
    // A checkout whose help maps an alias the static table does not have.
    const help = [
      '   2  or  Q4_0    :  4.34G, +0.4685 ppl @ Llama-3-8B',
      '  15  or  Q4_K_M  :  4.58G, +0.1754 ppl @ Llama-3-8B',
      '  14  or  Q4_K_S  :  4.37G, +0.2689 ppl @ Llama-3-8B',
      '  15  or  Q4_K    : alias for Q4_K_M',
      '  14  or  Q4_S    : alias for Q4_K_S'
    ].join('\n')
    const types = parseQuantizeHelp(help)
    const entries = resolveBudgetTypes(
      parseBudgets('Q4_S=3kB, q4_k=2kB, gguf=9kB', new Set([...KNOWN, 'Q4_S']), TYPE_ALIASES),
      t => canonicalType(t, types)
    )
    expect(entries.map(e => e.target)).toEqual(['Q4_K_S', 'Q4_K_M', 'gguf'])
    expect(budgetFor(entries, output('Q4_K_S', 1))?.text).toBe('Q4_S=3kB')
    expect(() =>
      resolveBudgetTypes(parseBudgets('Q4_S=3kB, Q4_K_S=2kB', new Set([...KNOWN, 'Q4_S'])), t =>
        canonicalType(t, types)
      )
    ).toThrow(/"Q4_S=3kB" and "Q4_K_S=2kB" both name Q4_K_S/)
  })

  it('refuses a budget for an unknown type name: a typo never removes a gate', () => {
    expect(() => parseBudgets('Q4_K_N=1kB', KNOWN, TYPE_ALIASES)).toThrow(/unknown target "Q4_K_N"/)
  })
})
