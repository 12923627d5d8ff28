/** Types of global-setup.js (plain JavaScript: jest imports its global set-up untransformed). */

/** `12 s`, `4 min 31 s`. */
export function duration(ms: number): string

/**
 * Runs `cmd args` with its output kept, not printed; every `everyMs` says `what` is still running
 * with its latest output line. Resolves to stdout; rejects with the last lines on failure.
 */
export function runWithProgress(
  cmd: string,
  args: string[],
  opts: { what: string; everyMs: number; env?: NodeJS.ProcessEnv }
): Promise<string>

/**
 * A built llama.cpp: $LLAMA_CPP_DIR or the newest in `cache`; else fetched (`fetch`, default
 * scripts/fetch-llama-cpp.sh) and built with `npm run prepare-llama`, under the cache's lock.
 */
export function ensureLlamaCpp(opts?: {
  cache?: string
  fetch?: (cache: string) => Promise<string>
  everyMs?: number
}): Promise<string>

/** The test variables (MLX_FUSE_TEST_MLX_PYTHON, ...) and the lock file each environment is built from. */
export const TEST_ENVS: Record<string, string>

/** The environments of TEST_ENVS when test-envs.json names ready ones for the current lock hashes. */
export function readyTestEnvs(cache?: string): Record<string, string> | null

/** The tests' Python environments from locks/, built once per lock hash with npm run prepare-envs. */
export function ensureTestEnvs(opts?: {
  cache?: string
  everyMs?: number
}): Promise<Record<string, string>>

/** The set-up of npm run test:unit: the fixtures' packages and python3, nothing built. */
export function unitSetup(): void

export default function globalSetup(): Promise<void>
