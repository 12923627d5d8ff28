import { afterEach, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DiskLedger, ensureFreeSpace, freeBytesOverride } from '../src/core/disk.js'
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
    const ledger = new DiskLedger()
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
