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
    throw new ActionError(
      `The environment variable ${OVERRIDE} is ${JSON.stringify(value.slice(0, 40))}, not a whole number of bytes; it is for the action's own tests only: unset it.`
    )
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
    throw new ActionError(
      `Not enough disk space for ${what}: it needs about ${formatSize(needBytes)} but ${path.resolve(target)} has ${formatSize(free)} free; free some space or point the output inputs at a larger disk.`
    )
  }
}
