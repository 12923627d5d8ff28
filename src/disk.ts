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
      throw new ActionError(
        `Cannot read the free space of ${target}; check that the path is valid.`
      )
    dir = parent
  }
}

/** freeBytes, or what `MLX_FUSE_FREE_BYTES_OVERRIDE` pretends (see ensureFreeSpace). */
export async function usableFreeBytes(target: string): Promise<number> {
  const override = process.env.MLX_FUSE_FREE_BYTES_OVERRIDE
  return override ? Number(override) : freeBytes(target)
}

/**
 * Refuses when `needBytes` will not fit. `MLX_FUSE_FREE_BYTES_OVERRIDE` pretends a smaller disk,
 * so tests can prove the refusal without filling a real one.
 */
export async function ensureFreeSpace(
  target: string,
  needBytes: number,
  what: string
): Promise<void> {
  const free = await usableFreeBytes(target)
  if (needBytes > free) {
    throw new ActionError(
      `Not enough disk space for ${what}: it needs about ${formatSize(needBytes)} but ${path.resolve(target)} has ${formatSize(free)} free; free some space or point the output inputs at a larger disk.`
    )
  }
}
