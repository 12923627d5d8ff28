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

export default function globalSetup(): Promise<void>
