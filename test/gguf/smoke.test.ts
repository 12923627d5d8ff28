import { describe, expect, it } from '@jest/globals'

import { printableExcerpt, tokenCount } from '../../src/gguf/smoke.js'

describe('printableExcerpt (the smoke test log line)', () => {
  it('keeps UTF-8 text and escapes bytes that are not text as \\xNN', () => {
    // what the tiny model generated with llama-completion: "m" and broken UTF-8
    const tiny = Buffer.from([0x6d, 0x9a, 0x8e, 0x8e, 0x47, 0x8e, 0x47, 0x8e])
    expect(printableExcerpt(tiny)).toBe('m\\x9a\\x8e\\x8eG\\x8eG\\x8e')
    expect(printableExcerpt(Buffer.from('Once upon a time, café ☕'))).toBe(
      'Once upon a time, café ☕'
    )
  })

  it('keeps the line one line: newlines, tabs, quotes, backslashes and controls escaped', () => {
    expect(printableExcerpt(Buffer.from('a\nb\tc"d\\e\u0007f\u2028'))).toBe(
      'a\\nb\\tc\\"d\\\\e\\u{7}f\\u{2028}'
    )
  })

  it('cuts after max characters and marks the cut', () => {
    expect(printableExcerpt(Buffer.from('abcdef'), 3)).toBe('abc...')
    // a truncated multi-byte sequence at the end is bytes, not text
    expect(printableExcerpt(Buffer.from([0x61, 0xe2, 0x98]))).toBe('a\\xe2\\x98')
  })
})

describe('tokenCount', () => {
  it("reads the generated tokens from llama-completion's timing lines", () => {
    // as llama.cpp v0.4.0's llama-completion printed them for -n 8 on the tiny example model
    const log = [
      '0.00.193.046 I common_perf_print: prompt eval time =     128.14 ms /    16 tokens (    8.01 ms per token,   124.87 tokens per second)',
      '0.00.193.163 I common_perf_print:        eval time =       1.25 ms /     7 runs   (    0.18 ms per token,  5595.52 tokens per second)',
      '0.00.193.378 I common_perf_print:       total time =     131.43 ms /    23 tokens'
    ].join('\n')
    expect(tokenCount(log)).toBe(8)
    // older builds print llama_perf_context_print with the same figures
    expect(
      tokenCount('llama_perf_context_print:        eval time =      10.00 ms /    31 runs')
    ).toBe(32)
    expect(tokenCount('no timing lines')).toBeNull()
    expect(tokenCount(log.split('\n')[0])).toBeNull()
  })
})
