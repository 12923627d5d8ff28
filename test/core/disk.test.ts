import { describe, expect, it } from '@jest/globals'
import os from 'node:os'
import { ensureFreeSpace, freeBytes } from '../../src/core/disk.js'
import { Workspace } from '../../src/core/workspace.js'
import { ActionError } from '../../src/core/types.js'

/** A disk that pretends to have `bytes` free, wherever asked. */
const pretend = (bytes: number) => async (): Promise<number> => bytes

describe('the free-space check before a step writes', () => {
  it('refuses with both figures when the disk is too small, and passes when it fits', async () => {
    await expect(ensureFreeSpace(os.tmpdir(), 10, 'the fused model', pretend(9))).rejects.toThrow(
      /Not enough disk space for the fused model: it needs about 10 B but .* has 9 B free/
    )
    await expect(
      ensureFreeSpace(os.tmpdir(), 10, 'the fused model', pretend(10))
    ).resolves.toBeUndefined()
  })

  it.each([Number.NaN, -5, 12.5, Number.POSITIVE_INFINITY])(
    'fails closed on a free-space figure that is no count of bytes (%d)',
    async bytes => {
      // Issue 6: a figure that was NaN made `need > NaN` false: the check passed silently.
      const promise = ensureFreeSpace(os.tmpdir(), 10, 'the fused model', pretend(bytes))
      await expect(promise).rejects.toThrow(ActionError)
      await expect(promise).rejects.toThrow(/^Cannot read the free space of .* \(read .*\)/)
    }
  )

  it("reads this machine's real free space, and the workspace checks with the reader it was given", async () => {
    const real = await freeBytes(os.tmpdir())
    expect(Number.isSafeInteger(real) && real > 0).toBe(true)
    const ws = new Workspace(pretend(100))
    await expect(ws.ensureRoom(os.tmpdir(), 100, 'a step')).resolves.toBeUndefined()
    await expect(ws.ensureRoom(os.tmpdir(), 101, 'a step')).rejects.toThrow(
      /Not enough disk space for a step: it needs about 101 B .* has 100 B free/
    )
  })
})
