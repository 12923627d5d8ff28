/**
 * The run's one workspace: every folder or file the stages make, move or remove goes through it,
 * and it keeps the disk ledger as it does so. A write is measured (exact file sizes) when its step
 * has finished, forgotten when removed, renamed along with a move; `peakBytes` is the most the run
 * held on disk at once, checked at each step's end. Removal always goes through the one path that
 * unlocks read-only trees, and a clean-up after a failure never replaces the failure's error.
 * The functions below the class are the same file-system changes for the steps that keep no ledger
 * (the tool wrappers, the upload's scratch folder, the manifest): core's one place that writes.
 */
import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { ensureFreeSpace, freeBytes as readFreeBytes, type FreeBytes } from './disk.js'
import { measurePath } from './size.js'
import { ActionError } from './types.js'

export class Workspace {
  private readonly live = new Map<string, number>()
  private current = 0
  private peak = 0

  /** `freeBytes`: how the stages read the free space before they write (see ensureRoom). */
  constructor(readonly freeBytes: FreeBytes = readFreeBytes) {}

  /** Refuses when `needBytes` will not fit at `target` (ensureFreeSpace with this run's reader). */
  async ensureRoom(target: string, needBytes: number, what: string): Promise<void> {
    await ensureFreeSpace(target, needBytes, what, this.freeBytes)
  }

  /** The most bytes the run held on disk at once (written and not yet removed). */
  get peakBytes(): number {
    return this.peak
  }

  /** A fresh staging folder beside `finalDir`, to be promoted into place or removed. */
  async stage(finalDir: string, tag: string): Promise<string> {
    return makeStaging(finalDir, tag)
  }

  /** Makes `dir` and its missing parents. */
  async folder(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true })
  }

  /** Measures what a step wrote at `target` (a file or a folder) and adds it. */
  async wrote(target: string): Promise<void> {
    const { bytes } = await measurePath(target)
    this.forget(target)
    this.count(path.resolve(target), bytes)
  }

  /** Writes `text` as a new file (never over one already there) and adds it. */
  async writeNew(file: string, text: string): Promise<void> {
    await fs.writeFile(file, text, { flag: 'wx' })
    await this.wrote(file)
  }

  /** Bytes written elsewhere (a download into a cache), measured by whoever wrote them. */
  add(label: string, bytes: number): void {
    this.count(label, bytes)
  }

  /** Moves `from` to `to` (a rename: the same bytes under a new name). */
  async move(from: string, to: string): Promise<void> {
    await fs.rename(from, to)
    this.moved(from, to)
  }

  /** Moves a finished staging folder into place, replacing an empty (or emptied) final folder. */
  async promote(staging: string, finalDir: string): Promise<void> {
    await promote(staging, finalDir)
    this.moved(staging, finalDir)
  }

  /** Removes an empty folder this run made. */
  async removeEmptyFolder(dir: string): Promise<void> {
    await fs.rmdir(dir)
    this.forget(dir)
  }

  /**
   * Removes a file or tree the run made, also when a tool left a folder without permissions in
   * it; throws an error naming the path when it cannot.
   */
  async remove(target: string): Promise<void> {
    await removeTree(target)
    this.forget(target)
  }

  /** Removes what a failed step made; what cannot be removed is a warning, never an error. */
  async discard(...targets: (string | null)[]): Promise<void> {
    for (const target of targets) {
      if (!target) continue
      await discard(target)
      this.forget(target)
    }
  }

  /**
   * Discards `targets` after `error` and throws `error` itself: the clean-up can warn, but never
   * replaces the error that caused it.
   */
  async failed(error: unknown, ...targets: (string | null)[]): Promise<never> {
    try {
      await this.discard(...targets)
    } catch {
      // discard warns and does not throw; this guard keeps the contract if that ever changes
    }
    throw error
  }

  private count(key: string, bytes: number): void {
    this.live.set(key, (this.live.get(key) ?? 0) + bytes)
    this.current += bytes
    this.peak = Math.max(this.peak, this.current)
  }

  private moved(from: string, to: string): void {
    const src = path.resolve(from)
    const dst = path.resolve(to)
    for (const [key, bytes] of [...this.live]) {
      if (key === src || key.startsWith(src + path.sep)) {
        this.live.delete(key)
        this.live.set(dst + key.slice(src.length), bytes)
      }
    }
  }

  private forget(target: string): void {
    const dir = path.resolve(target)
    for (const [key, bytes] of [...this.live]) {
      if (key === dir || key.startsWith(dir + path.sep)) {
        this.live.delete(key)
        this.current -= bytes
      }
    }
  }
}

/** Empties a folder in place (overwrite: true; checkOutputDir proved the action made it). */
export async function emptyDir(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => [] as string[])
  for (const e of entries) await removeTree(path.join(dir, e))
}

/**
 * Removes a tree the action made, also when a tool left a folder without permissions in it.
 * Throws an ActionError naming the path when it cannot: callers keep their own error first.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await fs.rm(target, { recursive: true, force: true })
    return
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw removeError(target, error)
  }
  await unlock(target)
  await fs.rm(target, { recursive: true, force: true }).catch((error: unknown) => {
    throw removeError(target, error)
  })
}

/** Readies `file` for a tool to write: its folder made, whatever sits at `file` removed. */
export async function clearForOutput(file: string): Promise<void> {
  await removeTree(file)
  await fs.mkdir(path.dirname(file), { recursive: true })
}

/**
 * Removes the regular file `file` when its start holds `mark` (a file the action wrote, such as
 * an earlier run's chart); true when removed. Anything else at `file` (missing, a link, a folder,
 * a file without the mark: the user's) is left as it is.
 */
export async function removeOwnFile(file: string, mark: string): Promise<boolean> {
  const stat = await fs.lstat(file).catch(() => null)
  if (!stat?.isFile()) return false
  const handle = await fs.open(file, 'r')
  let head: string
  try {
    const buf = Buffer.alloc(1024)
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0)
    head = buf.toString('utf8', 0, bytesRead)
  } finally {
    await handle.close()
  }
  if (!head.includes(mark)) return false
  await fs.unlink(file)
  return true
}

/** Removes `dir` when it is an empty folder; anything else (missing, not empty) is left as it is. */
export async function removeIfEmpty(dir: string): Promise<void> {
  await fs.rmdir(dir).catch(() => undefined)
}

/** Removes what a failed step made without hiding its error: what cannot be removed is a warning. */
export async function discard(...targets: string[]): Promise<void> {
  for (const target of targets) {
    await removeTree(target).catch((error: unknown) => core.warning((error as Error).message))
  }
}

/** Gives the owner rwx on every folder of a tree the action made, so it can be removed. */
async function unlock(dir: string): Promise<void> {
  const stat = await fs.lstat(dir).catch(() => null)
  if (!stat?.isDirectory()) return
  await fs.chmod(dir, 0o700).catch(() => undefined)
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) if (e.isDirectory()) await unlock(path.join(dir, e.name))
}

function removeError(target: string, error: unknown): ActionError {
  return new ActionError({
    problem: `Could not remove "${target}", which this action made (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    fix: `delete it by hand`
  })
}

/**
 * A fresh staging folder beside `finalDir` (same file system, so the final move is a rename),
 * made with mkdir so the output gets the usual permissions (umask respected), not mkdtemp's 0700.
 */
export async function makeStaging(finalDir: string, tag: string): Promise<string> {
  const parent = path.dirname(finalDir)
  try {
    await fs.mkdir(parent, { recursive: true })
    for (;;) {
      const dir = path.join(
        parent,
        `.${path.basename(finalDir)}.${tag}-${randomBytes(4).toString('hex')}`
      )
      const made = await fs.mkdir(dir).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false
          throw error
        }
      )
      if (made) return dir
    }
  } catch (error) {
    throw new ActionError({
      problem: `Cannot create a working folder in "${parent}" for "${finalDir}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      fix: `choose an output folder this runner's user can write in`
    })
  }
}

/** Moves a finished staging folder into place, replacing an empty (or emptied) final folder. */
export async function promote(staging: string, finalDir: string): Promise<void> {
  await fs.rmdir(finalDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
  await fs.rename(staging, finalDir)
}

/** Writes `text` to `file`, created or written over (the manifest, which the action owns). */
export async function overwriteText(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text)
}

/**
 * A hard link at `link` to `target` (the same bytes under a second name, no copy), its folder made
 * first and put in place by a rename, so a reader never sees half an entry; false, with nothing
 * left behind, when the file system refuses it (the two on different file systems: EXDEV).
 */
export async function hardLink(target: string, link: string): Promise<boolean> {
  await fs.mkdir(path.dirname(link), { recursive: true })
  const temporary = `${link}.${randomBytes(4).toString('hex')}.partial`
  try {
    await fs.link(target, temporary)
  } catch {
    return false
  }
  await fs.rename(temporary, link)
  return true
}
