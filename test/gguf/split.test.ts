import { describe, expect, it } from '@jest/globals'
import { MIN_SPLIT_BYTES, splitMegabytes } from '../../src/gguf/split.js'

describe('splitMegabytes', () => {
  it('takes the largest whole megabyte of tensor data that keeps a shard within the limit', () => {
    // 1900MB with a 6 MB header (a large vocabulary) leaves 1893 whole megabytes.
    expect(splitMegabytes(1_900_000_000, 6_000_000)).toBe(1893)
    expect(splitMegabytes(2_000_000, 15_000)).toBe(1)
    // Exactly 1 MB of data plus the header and the split keys fits; a byte less does not.
    expect(splitMegabytes(1_000_000 + 15_000 + 128, 15_000)).toBe(1)
    expect(() => splitMegabytes(1_000_000 + 15_000 + 127, 15_000)).toThrow(
      /Input gguf-split is 1\.02 MB \(991\.33 KiB\), which leaves no room for tensor data: the GGUF header alone takes 15\.00 kB \(14\.65 KiB\) .*set gguf-split to at least 1015128 \(1\.02 MB \(991\.34 KiB\)\)\.$/
    )
  })

  it('makes the up-front minimum the smallest limit that could ever work', () => {
    expect(MIN_SPLIT_BYTES).toBe(1_000_129)
    expect(() => splitMegabytes(MIN_SPLIT_BYTES, 1)).not.toThrow()
  })
})
