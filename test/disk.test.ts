import { afterEach, describe, expect, it } from '@jest/globals'
import os from 'node:os'
import { ensureFreeSpace, freeBytesOverride } from '../src/core/disk.js'
import { ActionError } from '../src/core/types.js'

const NAME = 'MLX_FUSE_FREE_BYTES_OVERRIDE'
afterEach(() => {
  delete process.env[NAME]
})

describe('the test-only free-space override', () => {
  it('is off when unset and reads whole bytes', () => {
    expect(freeBytesOverride({})).toBeNull()
    expect(freeBytesOverride({ [NAME]: '1234' })).toBe(1234)
  })

  it.each(['lots', '1e9', '-5', '12.5', '10GB', ' 7'])(
    'refuses the malformed value %j instead of skipping the disk check',
    async value => {
      // Issue 6: "lots" made Number() NaN, and `need > NaN` is false: the check passed silently.
      process.env[NAME] = value
      const promise = ensureFreeSpace(os.tmpdir(), 10, 'the fused model')
      await expect(promise).rejects.toThrow(ActionError)
      await expect(promise).rejects.toThrow(
        /MLX_FUSE_FREE_BYTES_OVERRIDE is ".*", not a whole number of bytes; it is for the action's own tests only/
      )
    }
  )

  it('still refuses when the pretended disk is too small', async () => {
    process.env[NAME] = '9'
    await expect(ensureFreeSpace(os.tmpdir(), 10, 'the fused model')).rejects.toThrow(
      /Not enough disk space for the fused model: it needs about 10 B but .* has 9 B free/
    )
  })
})
