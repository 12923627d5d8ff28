/** Free-space pre-checks before expensive steps: refuse with both figures when it will not fit. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { formatSize, measurePath } from './size.js'
import { ActionError } from './types.js'

/** Free bytes on the file system that holds `target` (or its nearest existing parent). */
export async function freeBytes(target: string): Promise<number> {
  let dir = path.resolve(target)
  for (;;) {
    const stat = await fs.statfs(dir).catch(() => null)
    if (stat) return Number(stat.bavail) * Number(stat.bsize)
    const parent = path.dirname(dir)
    if (parent === dir)
      throw new ActionError(
        `Cannot read the free space of ${target}; check that the path is valid.`
      )
    dir = parent
  }
}

/** Free bytes at a path: {@link freeBytes} on this machine, a pretended figure in the tests. */
export type FreeBytes = (target: string) => Promise<number>

/** Refuses when `needBytes` will not fit at `target`, with both figures. */
export async function ensureFreeSpace(
  target: string,
  needBytes: number,
  what: string,
  free: FreeBytes
): Promise<void> {
  const bytes = await free(target)
  // Fail closed: `need > NaN` is false, so a figure that is no count of bytes would pass the check.
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new ActionError(
      `Cannot read the free space of ${path.resolve(target)} (read ${String(bytes)}); check that the path is valid.`
    )
  }
  if (needBytes > bytes) {
    throw new ActionError(
      `Not enough disk space for ${what}: it needs about ${formatSize(needBytes)} but ${path.resolve(target)} has ${formatSize(bytes)} free; free some space or point the output inputs at a larger disk.`
    )
  }
}

/**
 * The run's disk use, measured: every folder or file the run writes is measured (exact file
 * sizes) when its step has finished, and forgotten when it is removed. `peakBytes` is the most
 * the run held on disk at once (bytes written and not yet removed), checked at each step's end.
 */
export class DiskLedger {
  private readonly live = new Map<string, number>()
  private current = 0
  private peak = 0

  /** `freeBytes`: how the stages read the free space before they write (see ensureRoom). */
  constructor(readonly freeBytes: FreeBytes) {}

  get peakBytes(): number {
    return this.peak
  }

  /** Refuses when `needBytes` will not fit at `target` (ensureFreeSpace with this run's reader). */
  async ensureRoom(target: string, needBytes: number, what: string): Promise<void> {
    await ensureFreeSpace(target, needBytes, what, this.freeBytes)
  }

  /** Measures what a step wrote at `target` (a file or a folder) and adds it. */
  async wrote(target: string): Promise<void> {
    const { bytes } = await measurePath(target)
    this.forget(target)
    this.live.set(path.resolve(target), bytes)
    this.current += bytes
    this.peak = Math.max(this.peak, this.current)
  }

  /** Bytes written elsewhere (a download into a cache), measured by whoever wrote them. */
  add(label: string, bytes: number): void {
    this.live.set(label, (this.live.get(label) ?? 0) + bytes)
    this.current += bytes
    this.peak = Math.max(this.peak, this.current)
  }

  /** `target` (and everything the ledger holds inside it) was removed. */
  removed(target: string): void {
    this.forget(target)
  }

  /** `from` was renamed to `to`: the same bytes under a new name. */
  moved(from: string, to: string): void {
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
