import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Workspace } from '../../src/core/workspace.js'

let root: string
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'workspace-'))
})
afterEach(async () => {
  await fs.chmod(root, 0o700).catch(() => undefined)
  await fs.rm(root, { recursive: true, force: true })
})

async function file(p: string, bytes: number): Promise<string> {
  await fs.mkdir(path.dirname(p), { recursive: true })
  await fs.writeFile(p, Buffer.alloc(bytes))
  return p
}

describe('Workspace ledger', () => {
  it('keeps the most bytes written and not yet removed, measured, through moves and removals', async () => {
    const ws = new Workspace()
    const fuse = path.join(root, 'fuse')
    await file(path.join(fuse, 'a'), 300)
    await file(path.join(fuse, 'b'), 200)
    const gguf = await file(path.join(root, 'work', 'm.gguf'), 400)
    ws.add('download', 50)
    await ws.wrote(fuse)
    await ws.wrote(gguf)
    expect(ws.peakBytes).toBe(950)
    await ws.remove(fuse)
    await expect(fs.stat(fuse)).rejects.toThrow(/ENOENT/)
    await ws.move(path.join(root, 'work'), path.join(root, 'kept'))
    expect(await fs.readdir(path.join(root, 'kept'))).toEqual(['m.gguf'])
    await ws.wrote(await file(path.join(root, 'q.gguf'), 100))
    expect(ws.peakBytes).toBe(950) // 50 + 400 + 100 now: below the peak
    await ws.remove(path.join(root, 'kept')) // the moved file is forgotten under its new name
    await ws.wrote(await file(path.join(root, 'big'), 850))
    expect(ws.peakBytes).toBe(1000) // 50 + 100 + 850
  })

  it('a measured file written again counts once, at its new size', async () => {
    const ws = new Workspace()
    const f = await file(path.join(root, 'f'), 100)
    await ws.wrote(f)
    await fs.writeFile(f, Buffer.alloc(30))
    await ws.wrote(f)
    await ws.wrote(await file(path.join(root, 'g'), 80))
    expect(ws.peakBytes).toBe(110) // 30 + 80; 100 + 80 would have been counted twice
  })

  it('stages beside the final folder and promotes it into place, an empty final folder replaced', async () => {
    const ws = new Workspace()
    const final = path.join(root, 'out')
    await fs.mkdir(final)
    const staging = await ws.stage(final, 'fuse')
    expect(path.dirname(staging)).toBe(root)
    expect(path.basename(staging)).toMatch(/^\.out\.fuse-[0-9a-f]{8}$/)
    await ws.wrote(await file(path.join(staging, 'w'), 64))
    await ws.promote(staging, final)
    expect(await fs.readdir(root)).toEqual(['out'])
    await ws.remove(path.join(final, 'w')) // known under its promoted name: forgotten
    await ws.wrote(await file(path.join(root, 'x'), 64))
    expect(ws.peakBytes).toBe(64)
  })

  it('removes a tree a tool left without permissions', async () => {
    const ws = new Workspace()
    const tree = path.join(root, 'tree')
    await file(path.join(tree, 'locked', 'f'), 10)
    await fs.chmod(path.join(tree, 'locked'), 0o500)
    await ws.remove(tree)
    await expect(fs.stat(tree)).rejects.toThrow(/ENOENT/)
  })

  it('a removal that fails names the path', async () => {
    const ws = new Workspace()
    const blocker = await file(path.join(root, 'plain-file'), 1)
    await expect(ws.remove(path.join(blocker, 'inside'))).rejects.toThrow(
      /^Could not remove ".*plain-file\/inside", which this action made \(ENOTDIR\); delete it by hand\.$/
    )
  })
})

describe('a clean-up after a failure', () => {
  it('never replaces the original error, even when the clean-up itself fails', async () => {
    const ws = new Workspace()
    const staged = path.join(root, 'staged')
    await file(path.join(staged, 'partial'), 5)
    const blocker = await file(path.join(root, 'plain-file'), 1)
    const original = new Error('the fuse failed')
    // the second target cannot be removed (its parent is a file): a warning, not the error
    await expect(ws.failed(original, staged, path.join(blocker, 'inside'), null)).rejects.toBe(
      original
    )
    await expect(fs.stat(staged)).rejects.toThrow(/ENOENT/) // what could be removed, was
  })

  it('discard forgets what it removed from the ledger', async () => {
    const ws = new Workspace()
    const a = await file(path.join(root, 'a'), 100)
    await ws.wrote(a)
    await ws.discard(a)
    await ws.wrote(await file(path.join(root, 'b'), 60))
    expect(ws.peakBytes).toBe(100) // 60 now, not 160
  })
})
