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
      throw new ActionError({
        problem: `Cannot read the free space of ${target}`,
        fix: `check that the path is valid`
      })
    dir = parent
  }
}

const OVERRIDE = 'MLX_FUSE_FREE_BYTES_OVERRIDE'

/** freeBytes, or what the tests' override pretends (see {@link freeBytesOverride}). */
export async function usableFreeBytes(target: string): Promise<number> {
  return freeBytesOverride() ?? (await freeBytes(target))
}

/**
 * The free bytes `MLX_FUSE_FREE_BYTES_OVERRIDE` pretends, or null when it is unset. TEST-ONLY: it
 * lets the tests prove the refusal without filling a real disk, is not an input and is not
 * documented for users. It must hold whole bytes: anything else is an error, never a skipped check.
 */
export function freeBytesOverride(env: NodeJS.ProcessEnv = process.env): number | null {
  const value = env[OVERRIDE]
  if (value === undefined || value === '') return null
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ActionError({
      problem: `The environment variable ${OVERRIDE} is ${JSON.stringify(value.slice(0, 40))}, not a whole number of bytes`,
      fix: `it is for the action's own tests only: unset it`
    })
  }
  return Number(value)
}

/** Refuses when `needBytes` will not fit (see {@link freeBytesOverride} for the tests' override). */
export async function ensureFreeSpace(
  target: string,
  needBytes: number,
  what: string
): Promise<void> {
  const free = await usableFreeBytes(target)
  if (needBytes > free) {
    throw new ActionError({
      problem: `Not enough disk space for ${what}: it needs about ${formatSize(needBytes)} but ${path.resolve(target)} has ${formatSize(free)} free`,
      fix: `free some space or point the output inputs at a larger disk`
    })
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

  get peakBytes(): number {
    return this.peak
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
