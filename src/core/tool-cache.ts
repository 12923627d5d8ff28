/**
 * Cached toolchains for runners that start empty (issue 17): one folder the action builds (the
 * llama.cpp build, a Python environment) is restored through the real `@actions/cache` 6.3.0
 * when the local copy is missing, checked before use, and saved after a successful build.
 *
 * Paths come from the caller (the folder is absolute, wherever the caller's root puts it); this
 * module only knows how to key, restore, check and save one folder. The cache client tars an
 * absolute path as given and extracts it to the same place, and its entry version hashes the path
 * strings (actions/toolkit packages/cache `getCacheVersion`), so the key also names the absolute
 * path: a folder is never restored anywhere else.
 *
 * Only a folder that was missing is restored, so everything in it after a restore is the action's:
 * a failed check or a partial extraction removes it whole and the caller builds it again. Never
 * models or outputs. A fault of the cache service is returned as one sentence, never thrown.
 */
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { removeTree } from './workspace.js'

/** One folder of the toolchain and what its content depends on. */
export interface ToolchainPart {
  /** What the summary calls it, e.g. "llama.cpp build" or "mlx-lm environment". */
  label: string
  /** `llama-cpp` or `env-<name>`: the key's readable kind. */
  kind: string
  /** Absolute path of the folder. */
  dir: string
  /**
   * Everything the content depends on besides OS, arch and path: for llama.cpp its commit and
   * build options, for an environment the base interpreter's real path and version and the lock's
   * hash.
   */
  inputs: Record<string, string>
  /** Checks a restored folder (`llama-quantize --help`, `import mlx_lm`); the reason it failed, else null. */
  check: (dir: string) => Promise<string | null>
}

export type RestoreResult =
  | { status: 'restored'; key: string; ms: number }
  | { status: 'miss'; ms: number }
  /** Restored but failed its check, or extracted in part: removed, to be built again. */
  | { status: 'rejected'; why: string; ms: number }
  | { status: 'fault'; why: string; ms: number }

/** The cache key of `part`: readable kind, OS and arch, then a hash of every input and the path. */
export function toolchainKey(
  part: Pick<ToolchainPart, 'kind' | 'dir' | 'inputs'>,
  platform: string = process.platform,
  arch: string = process.arch
): string {
  if (!path.isAbsolute(part.dir)) throw new Error(`toolchain folder "${part.dir}" is not absolute`)
  const fields: Record<string, string> = {
    ...part.inputs,
    os: platform,
    arch,
    path: path.resolve(part.dir)
  }
  const text = Object.keys(fields)
    .sort()
    .map(k => `${k}=${fields[k]}`)
    .join('\n')
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 32)
  return `mlx-fuse-action-toolchain-${part.kind}-${platform}-${arch}-${hash}`
}

/** Why the cache cannot be used by this job, or null when the service is there. */
export async function toolCacheUnavailable(): Promise<string | null> {
  const cache = await import('@actions/cache')
  if (cache.isFeatureAvailable()) return null
  return 'the Actions cache service is not available to this job (no ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL, as on GitHub Enterprise Server without a cache or outside a runner)'
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false
  )
}

/**
 * Restores `part.dir` when it is missing. The caller only asks when it is; a folder that exists
 * is never touched (returns a miss). Looks up first, so a key found but not restored is a fault,
 * not a miss (the client logs a fault and returns undefined for both).
 */
export async function restoreToolchain(part: ToolchainPart): Promise<RestoreResult> {
  const start = Date.now()
  const ms = (): number => Date.now() - start
  if (await exists(part.dir)) return { status: 'miss', ms: ms() }
  const cache = await import('@actions/cache')
  const key = toolchainKey(part)
  let restored: string | undefined
  try {
    restored = await core.group(
      `Toolchain: restore the ${part.label} from the Actions cache`,
      async () => {
        const found = await cache.restoreCache([part.dir], key, [], { lookupOnly: true })
        if (found === undefined) return undefined
        const got = await cache.restoreCache([part.dir], found, [])
        if (got === undefined)
          throw new Error(`the cache entry "${found}" was found but not restored`)
        return got
      }
    )
  } catch (error) {
    await removeTree(part.dir)
    return { status: 'fault', why: (error as Error).message, ms: ms() }
  }
  if (restored === undefined) {
    // A failed extraction may leave part of the folder behind: it was missing, so it is ours.
    await removeTree(part.dir)
    return { status: 'miss', ms: ms() }
  }
  let why: string | null
  try {
    why = (await exists(part.dir))
      ? await part.check(part.dir)
      : `the cache entry "${restored}" holds no ${part.dir}`
  } catch (error) {
    why = (error as Error).message
  }
  if (why !== null) {
    await removeTree(part.dir)
    return { status: 'rejected', why, ms: ms() }
  }
  return { status: 'restored', key: restored, ms: ms() }
}

/** Saves a folder just built; the reason it was not saved, else null. */
export async function saveToolchain(part: ToolchainPart): Promise<string | null> {
  const cache = await import('@actions/cache')
  const key = toolchainKey(part)
  try {
    const id = await core.group(`Toolchain: save the ${part.label} to the Actions cache`, () =>
      cache.saveCache([part.dir], key)
    )
    return id === -1 ? `the cache did not take the entry "${key}" (see the log above)` : null
  } catch (error) {
    return (error as Error).message
  }
}

/** One summary line: what happened to a part and how long it took. */
export function toolchainLine(
  label: string,
  what: 'restored' | 'built' | 'reused',
  ms: number
): string {
  return `${label}: ${what} in ${(ms / 1000).toFixed(1)} s`
}

/**
 * The summary's note on the toolchain with cache-toolchain: a heading line, then one line (a list
 * item) per environment or build saying whether it was reused, restored or made, how long that
 * took, and whether it was saved. None without lines.
 */
export function toolchainNote(lines: readonly string[]): string[] {
  return lines.length > 0 ? [`Toolchain (cache-toolchain):\n${lines.join('\n')}`] : []
}
