import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from '@jest/globals'

import { ActionError } from '../../src/core/types.js'
import {
  AUTO_LADDER,
  CONVERT_OUTTYPES,
  FTYPE_IDS,
  IMATRIX_TYPES,
  closestType,
  ftypeOf,
  parseQuantizeHelp,
  validateGgufTypes
} from '../../src/gguf/quant-types.js'
import { directOutType, intermediateOutType } from '../../src/gguf/convert.js'
import { quantizeHint } from '../../src/gguf/quantize.js'
import { realLlamaCpp } from '../fixtures/llama-stand-in/helpers.js'

/**
 * `llama-quantize --help` of the real checkout (it prints to stdout and exits 1), with the binary's
 * own path written as `llama-quantize`: usage() prints argv[0] (llama.cpp commit 80fb11ac73e6,
 * tools/quantize/quantize.cpp), which is wherever this machine built the checkout.
 */
function realHelp(): string {
  const { quantize } = realLlamaCpp()
  let help: string
  try {
    help = execFileSync(quantize, ['--help'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe']
    })
  } catch (err) {
    const e = err as { stdout?: string; status?: number }
    expect(e.status).toBe(1)
    help = e.stdout ?? ''
  }
  return help.replace(`usage: ${quantize} `, 'usage: llama-quantize ')
}

/**
 * The parser's input, kept as a fixture: `llama-quantize --help` of the checkout the tests
 * build (llama.cpp commit 80fb11ac73e6, tools/quantize/quantize.cpp usage()), with no machine's
 * path in it. The last test of this file checks it is still what that binary prints.
 */
const HELP = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'llama-quantize-help.txt'),
  'utf8'
)

// The shape of an older llama-quantize (mid 2024): no --dry-run, no Q4_K alias lines' successors.
const OLD_HELP = `usage: ./llama-quantize [--help] [--allow-requantize] [--leave-output-tensor] [--pure] [--imatrix] [--include-weights] [--exclude-weights] [--output-tensor-type] [--token-embedding-type] [--override-kv] model-f32.gguf [model-quant.gguf] type [nthreads]

Allowed quantization types:
   2  or  Q4_0    :  4.34G, +0.4685 ppl @ Llama-3-8B
   3  or  Q4_1    :  4.78G, +0.4511 ppl @ Llama-3-8B
  10  or  Q2_K    :  2.96G, +3.5199 ppl @ Llama-3-8B
  15  or  Q4_K    : alias for Q4_K_M
  14  or  Q4_K_S  :  4.37G, +0.2689 ppl @ Llama-3-8B
  15  or  Q4_K_M  :  4.58G, +0.1754 ppl @ Llama-3-8B
   7  or  Q8_0    :  7.96G, +0.0026 ppl @ Llama-3-8B
   1  or  F16     : 14.00G, +0.0020 ppl @ Mistral-7B
  32  or  BF16    : 14.00G, -0.0050 ppl @ Mistral-7B
   0  or  F32     : 26.00G              @ 7B
          COPY    : only copy tensors, no quantizing
`

describe('llama-quantize --help', () => {
  it('lists the real checkout types with their ftype numbers, aliases and --dry-run', () => {
    const types = parseQuantizeHelp(HELP)
    for (const name of [
      'Q4_K_M',
      'Q8_0',
      'Q5_K_M',
      'Q2_K',
      'Q6_K',
      'IQ2_XS',
      'F16',
      'BF16',
      'F32'
    ]) {
      expect(types.names).toContain(name)
    }
    expect(types.names).not.toContain('COPY')
    expect(types.names).not.toContain('Q4_K')
    expect(types.aliases).toEqual({ Q3_K: 'Q3_K_M', Q4_K: 'Q4_K_M', Q5_K: 'Q5_K_M' })
    expect(types.ftypes.Q4_K_M).toBe(15)
    expect(types.ftypes.BF16).toBe(32)
    expect(types.ftypes.F32).toBe(0)
    // every number the help prints agrees with the static llama_ftype table
    for (const name of types.names) expect(types.ftypes[name]).toBe(FTYPE_IDS[name])
    // this 0.4.0 checkout lists types that older checkouts' llama.h does not have
    expect(types.names).toEqual(expect.arrayContaining(['Q1_0', 'Q2_0', 'MXFP4_MOE']))
    expect(types.dryRun).toBe(true)
    expect(types.names.length).toBe(35)
  })

  it('reads an older help without --dry-run', () => {
    const types = parseQuantizeHelp(OLD_HELP)
    expect(types.names).toEqual([
      'Q4_0',
      'Q4_1',
      'Q2_K',
      'Q4_K_S',
      'Q4_K_M',
      'Q8_0',
      'F16',
      'BF16',
      'F32'
    ])
    expect(types.aliases).toEqual({ Q4_K: 'Q4_K_M' })
    expect(types.dryRun).toBe(false)
    expect(parseQuantizeHelp('llama-quantize: command not found').names).toEqual([])
  })
})

describe('validateGgufTypes', () => {
  const types = parseQuantizeHelp(HELP)

  it('returns canonical names in order, without repeats', () => {
    expect(validateGgufTypes(['q4_k_m', ' Q8_0 ', 'Q4_K', '', 'f16'], types, false)).toEqual([
      'Q4_K_M',
      'Q8_0',
      'F16'
    ])
  })

  it('names the gguf input, the closest type and the valid ones for a typo', () => {
    const attempt = (name: string): ActionError => {
      try {
        validateGgufTypes(['Q8_0', name], types, false)
      } catch (err) {
        return err as ActionError
      }
      throw new Error(`${name} was accepted`)
    }
    const err = attempt('Q4_KM')
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toMatch(/^Input gguf has 'Q4_KM'/)
    expect(err.message).toContain('did you mean Q4_K_M?')
    expect(err.message).toContain('Q5_K_M, Q6_K, Q8_0, F16, BF16, F32')
    expect(err.message).not.toContain('\n')
    expect(err.message.endsWith('.')).toBe(true)
    expect(attempt('Q8').message).toContain('did you mean Q8_0?')
    expect(attempt('q5km').message).toContain('did you mean Q5_K_M?')
    expect(attempt('COPY').message).toContain("has 'COPY'")
    expect(closestType('IQ4XS', types)).toBe('IQ4_XS')
    // equally near Q4_K_S and Q4_K_M: the common one wins
    expect(attempt('Q4_K_N').message).toContain('did you mean Q4_K_M?')
    expect(closestType('Q5_K_X', types)).toBe('Q5_K_M')
    expect(closestType('Q4_K_SS', types)).toBe('Q4_K_S')
  })

  it('refuses an importance-matrix type without the imatrix input, accepts it with one', () => {
    for (const name of IMATRIX_TYPES) {
      expect(() => validateGgufTypes([name], types, false)).toThrow(ActionError)
    }
    expect(() => validateGgufTypes(['IQ2_XS'], types, false)).toThrow(/set the imatrix input/)
    expect(validateGgufTypes(['iq2_xs', 'Q2_K'], types, true)).toEqual(['IQ2_XS', 'Q2_K'])
    // IQ4_XS and IQ3_S do not need one
    expect(validateGgufTypes(['IQ4_XS', 'IQ3_S'], types, false)).toEqual(['IQ4_XS', 'IQ3_S'])
  })

  it('says the missing-imatrix case in one message, whoever finds it first', () => {
    const before = (() => {
      try {
        validateGgufTypes(['IQ2_XS'], types, false)
      } catch (error) {
        return (error as Error).message
      }
      return ''
    })()
    // llama-quantize's own words when the check above is bypassed (llama.cpp src/llama-quant.cpp).
    const after = quantizeHint(
      'Missing importance matrix for tensor blk.0.attn_q.weight in a very low-bit quantization',
      'IQ2_XS'
    )
    expect(before).toBe(`${after}.`)
    expect(before).toMatch(/^GGUF type IQ2_XS needs an importance matrix: set the imatrix input/)
  })

  it('knows the ladder, the ftype numbers and what convert writes itself', () => {
    expect(AUTO_LADDER).toEqual(['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q3_K_M', 'Q2_K'])
    for (const t of AUTO_LADDER) expect(types.names).toContain(t)
    expect(ftypeOf('Q4_K')).toBe(15)
    expect(ftypeOf('q4_k_m', types)).toBe(15)
    expect(ftypeOf('Q2_0', types)).toBe(41)
    expect(ftypeOf('NOPE')).toBeUndefined()
    expect(CONVERT_OUTTYPES).toEqual(['F16', 'BF16', 'F32', 'Q8_0'])
  })

  it("names exactly the llama_ftype values of the real checkout's llama.h", () => {
    // `LLAMA_FTYPE_MOSTLY_Q4_K_M = 15,`; commented-out (removed) lines and GUESSED left out
    const header = readFileSync(join(realLlamaCpp().dir, 'include', 'llama.h'), 'utf8')
    const fromHeader = Object.fromEntries(
      [...header.matchAll(/^\s*LLAMA_FTYPE_(?:ALL|MOSTLY)_(\w+)\s*=\s*(\d+),/gm)].map(m => [
        m[1],
        Number(m[2])
      ])
    )
    expect(Object.keys(fromHeader).length).toBeGreaterThan(30)
    expect(FTYPE_IDS).toEqual(fromHeader)
  })
})

describe('convert out types', () => {
  it('keeps bf16, f16, and takes f32 down to f16 for the intermediate file', () => {
    expect(intermediateOutType('BF16')).toBe('bf16')
    expect(intermediateOutType('F16')).toBe('f16')
    expect(intermediateOutType('F32')).toBe('f16')
    expect(intermediateOutType(null)).toBe('f16')
  })

  it('converts directly only for exactly one type convert writes itself', () => {
    expect(directOutType(['Q8_0'])).toBe('q8_0')
    expect(directOutType(['BF16'])).toBe('bf16')
    expect(directOutType(['F32'])).toBe('f32')
    expect(directOutType(['Q4_K_M'])).toBeNull()
    expect(directOutType(['F16', 'Q8_0'])).toBeNull()
    expect(directOutType([])).toBeNull()
  })
})

describe('the llama-quantize --help fixture', () => {
  it("is what the tests' llama.cpp checkout prints", () => {
    expect(realHelp()).toBe(HELP)
  })
})
