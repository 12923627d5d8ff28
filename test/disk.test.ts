import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DiskLedger, ensureFreeSpace, freeBytes } from '../src/core/disk.js'
import { ActionError } from '../src/core/types.js'

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

  it("reads this machine's real free space, and the ledger checks with the reader it was given", async () => {
    const real = await freeBytes(os.tmpdir())
    expect(Number.isSafeInteger(real) && real > 0).toBe(true)
    const ledger = new DiskLedger(pretend(100))
    await expect(ledger.ensureRoom(os.tmpdir(), 100, 'a step')).resolves.toBeUndefined()
    await expect(ledger.ensureRoom(os.tmpdir(), 101, 'a step')).rejects.toThrow(
      /Not enough disk space for a step: it needs about 101 B .* has 100 B free/
    )
  })
})

describe('DiskLedger', () => {
  it('keeps the most bytes written and not yet removed, measured, through moves and removals', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-'))
    const fuse = path.join(root, 'fuse')
    await fs.mkdir(fuse)
    await fs.writeFile(path.join(fuse, 'a'), Buffer.alloc(300))
    await fs.writeFile(path.join(fuse, 'b'), Buffer.alloc(200))
    const gguf = path.join(root, 'work', 'm.gguf')
    await fs.mkdir(path.dirname(gguf))
    await fs.writeFile(gguf, Buffer.alloc(400))
    const ledger = new DiskLedger(freeBytes)
    ledger.add('download', 50)
    await ledger.wrote(fuse)
    await ledger.wrote(gguf)
    expect(ledger.peakBytes).toBe(950)
    ledger.removed(fuse)
    ledger.moved(path.join(root, 'work'), path.join(root, 'kept'))
    await fs.writeFile(path.join(root, 'q.gguf'), Buffer.alloc(100))
    await ledger.wrote(path.join(root, 'q.gguf'))
    expect(ledger.peakBytes).toBe(950) // 50 + 400 + 100 now: below the peak
    ledger.removed(path.join(root, 'kept')) // the moved file is forgotten under its new name
    await fs.writeFile(path.join(root, 'big'), Buffer.alloc(850))
    await ledger.wrote(path.join(root, 'big'))
    expect(ledger.peakBytes).toBe(1000) // 50 + 100 + 850
    await fs.rm(root, { recursive: true, force: true })
  })
})
