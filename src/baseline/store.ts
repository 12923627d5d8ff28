/**
 * Saves and restores one baseline file through the real `@actions/cache` 6.3.0 (actions/toolkit
 * packages/cache), loaded with import() only when a run keeps baselines. The file goes through
 * {@link BASELINE_PATH}, relative to the workspace (the client tars paths relative to
 * GITHUB_WORKSPACE and extracts there: src/internal/tar.ts), in a folder this module makes only
 * where nothing exists, and removes again.
 *
 * The client never throws for a service fault: `saveCache` logs it (a warning, or an error for a
 * 5xx) and returns -1, `restoreCache` logs it and returns undefined, as for a miss. To tell a
 * miss from a fault, a restore first looks up (`lookupOnly`), then downloads the key it found:
 * a key found but not restored is a fault. Those log lines stay as the client writes them (they
 * carry the masking of its signed URLs); this module adds one notice saying what it means here.
 */
import * as core from '@actions/core'
import path from 'node:path'
import { promises as fs } from 'node:fs'
import { makeScratchFolder, removeScratchFolder, writeScratchFile } from '../core/scratch.js'
import { parseBaseline, type BaselineFile } from './history.js'
import { BASELINE_DIR, BASELINE_PATH } from './keys.js'

export type Restored =
  | { status: 'hit'; key: string; baseline: BaselineFile }
  | { status: 'miss' }
  | { status: 'fault'; why: string }

/**
 * The folder the fixed path is relative to. The client finds the path from the working directory
 * (its glob) and tars and extracts it relative to GITHUB_WORKSPACE (lib/internal/cacheUtils.js
 * `resolvePaths`, lib/internal/tar.js `getWorkingDirectory`): an action step runs in the workspace,
 * so the two agree; when they do not, the baseline is skipped rather than stored elsewhere.
 */
async function workspace(): Promise<string> {
  const cwd = await fs.realpath(process.cwd())
  const ws = process.env.GITHUB_WORKSPACE
  if (ws && (await fs.realpath(ws).catch(() => ws)) !== cwd) {
    throw new Error(
      `the step runs in "${cwd}", not in the workspace "${ws}", and the cache client reads the baseline's path from one and stores it relative to the other`
    )
  }
  return cwd
}

/** Why baselines cannot be kept on this runner, or null when the cache service is there. */
export async function cacheUnavailable(): Promise<string | null> {
  const cache = await import('@actions/cache')
  if (cache.isFeatureAvailable()) return null
  return 'the Actions cache service is not available to this job (no ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL, as on GitHub Enterprise Server without a cache or outside a runner)'
}

/** The newest baseline under `primaryKey`, else under the first restore key that matches. */
export async function restoreBaseline(
  primaryKey: string,
  restoreKeys: string[]
): Promise<Restored> {
  const cache = await import('@actions/cache')
  let root: string
  try {
    root = await workspace()
  } catch (error) {
    return { status: 'fault', why: (error as Error).message }
  }
  const dir = path.join(root, BASELINE_DIR)
  if (!(await makeScratchFolder(dir))) return occupied(dir)
  try {
    return await core.group('Baseline: restore from the Actions cache', async () => {
      const found = await cache.restoreCache([BASELINE_PATH], primaryKey, restoreKeys, {
        lookupOnly: true
      })
      if (found === undefined) return { status: 'miss' } as const
      const key = await cache.restoreCache([BASELINE_PATH], found, [])
      if (key === undefined) {
        return { status: 'fault', why: `the cache entry "${found}" was found but not restored` }
      }
      const text = await fs.readFile(path.join(root, BASELINE_PATH), 'utf8').catch(() => {
        throw new Error(`the cache entry "${key}" holds no ${BASELINE_PATH}`)
      })
      try {
        return { status: 'hit', key, baseline: parseBaseline(text) } as const
      } catch (error) {
        throw new Error(`the cache entry "${key}" is unreadable: ${(error as Error).message}`)
      }
    })
  } catch (error) {
    return { status: 'fault', why: (error as Error).message }
  } finally {
    await removeScratchFolder(dir)
  }
}

/** Saves `baseline` under `key`; the reason when it was not saved, else null. */
export async function saveBaseline(key: string, baseline: BaselineFile): Promise<string | null> {
  const cache = await import('@actions/cache')
  let root: string
  try {
    root = await workspace()
  } catch (error) {
    return (error as Error).message
  }
  const dir = path.join(root, BASELINE_DIR)
  if (!(await makeScratchFolder(dir))) return occupied(dir).why
  try {
    await writeScratchFile(path.join(root, BASELINE_PATH), JSON.stringify(baseline))
    const id = await core.group('Baseline: save to the Actions cache', () =>
      cache.saveCache([BASELINE_PATH], key)
    )
    return id === -1 ? `the cache did not take the entry "${key}" (see the log above)` : null
  } catch (error) {
    return (error as Error).message
  } finally {
    await removeScratchFolder(dir)
  }
}

function occupied(dir: string): { status: 'fault'; why: string } {
  return {
    status: 'fault',
    why: `"${dir}" already exists and the action never writes over it (it saves and restores baselines through that path); remove or rename it`
  }
}
