import { describe, expect, it } from '@jest/globals'

import { printableExcerpt } from '../src/gguf/smoke.js'

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
