/**
 * The run's one workspace: every folder or file the stages make, move or remove goes through it,
 * and it keeps the disk ledger as it does so. A write is measured (exact file sizes) when its step
 * has finished, forgotten when removed, renamed along with a move; `peakBytes` is the most the run
 * held on disk at once, checked at each step's end. Removal always goes through the one path that
 * unlocks read-only trees, and a clean-up after a failure never replaces the failure's error.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { discard, makeStaging, promote, removeTree } from './folders.js'
import { measurePath } from './size.js'

export class Workspace {
  private readonly live = new Map<string, number>()
  private current = 0
  private peak = 0

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
