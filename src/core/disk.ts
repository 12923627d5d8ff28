/** Free-space pre-checks before expensive steps: refuse with both figures when it will not fit. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { formatSize } from './size.js'
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
    throw new ActionError({
      problem: `Cannot read the free space of ${path.resolve(target)} (read ${String(bytes)})`,
      fix: `check that the path is valid`
    })
  }
  if (needBytes > bytes) {
    throw new ActionError({
      problem: `Not enough disk space for ${what}: it needs about ${formatSize(needBytes)} but ${path.resolve(target)} has ${formatSize(bytes)} free`,
      fix: `free some space or point the output inputs at a larger disk`
    })
  }
}
