/**
 * Cache keys and the one path of a baseline. `@actions/cache` 6.3.0 (actions/toolkit
 * packages/cache, src/cache.ts `checkKey`) refuses keys with commas or over 512 characters, and
 * the cache service matches a restore key as a prefix of the stored keys, newest first. The
 * version it sends with every request hashes the path strings (src/internal/cacheUtils.ts
 * `getCacheVersion`), so the save and every restore must name the same relative path.
 *
 * Key: `mlx-fuse-baseline:v1:<artifact name>:<branch>:<commit>`. ':' separates the parts because
 * neither an artifact name (the artifact service refuses it) nor a git branch name
 * (git check-ref-format) can hold one, so `...:<name>:<branch>:` is a prefix of exactly that
 * name's and branch's baselines. Commas, which artifact and branch names may hold, are written
 * `%2C` (and `%` as `%25`).
 */

/** Relative to the workspace (GITHUB_WORKSPACE): the folder the action makes, and removes, for the file. */
export const BASELINE_DIR = '.mlx-fuse-baseline'
/** The one path string saved and restored: never change it, or every stored baseline is lost. */
export const BASELINE_PATH = `${BASELINE_DIR}/baseline.json`

const PREFIX = 'mlx-fuse-baseline:v1'

function part(text: string): string {
  return text.replace(/%/g, '%25').replace(/,/g, '%2C')
}

/** Every baseline of this artifact name on this branch starts with this (the restore key). */
export function branchPrefix(name: string, branch: string): string {
  return `${PREFIX}:${part(name)}:${part(branch)}:`
}

/** The key a baseline of `commit` is saved under. */
export function baselineKey(name: string, branch: string, commit: string): string {
  return `${branchPrefix(name, branch)}${commit}`
}

/** The commit a key names (its last part), or null for a key this module did not make. */
export function commitOfKey(key: string): string | null {
  const m = /:([0-9a-f]{40}|[0-9a-f]{64})$/.exec(key)
  return m && key.startsWith(`${PREFIX}:`) ? m[1] : null
}
