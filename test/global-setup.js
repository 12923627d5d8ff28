/**
 * Jest global set-up (jest.config.js): lets `npm test` pass on a fresh clone by itself. It checks
 * the system packages the tests need (one sentence with the `apt-get` line when some are missing;
 * it installs nothing itself), finds the python3 on PATH the Python fixtures run with, and, when
 * no built llama.cpp is in $LLAMA_CPP_DIR or the cache folder, fetches one
 * (scripts/fetch-llama-cpp.sh) and builds it there with `npm run prepare-llama` (the action's own
 * toolchain code), once per machine. Test files get the results as $LLAMA_CPP_DIR and
 * $MLX_FUSE_TEST_PYTHON. Plain JavaScript: jest imports its global set-up without transforming
 * the modules it imports.
 */
import { spawn } from 'node:child_process'
import { setInterval, clearInterval, setTimeout } from 'node:timers'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

import {
  ROOT,
  cacheFolder,
  findLlamaCpp,
  findNode24,
  installHint,
  isBuiltLlamaCpp,
  missingPackages,
  testPython
} from './fixtures/machine.js'

const say = line => process.stderr.write(`[test set-up] ${line}\n`)

export function duration(ms) {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}

/**
 * Runs `cmd args` with its output kept, not printed; every `everyMs` says `what` is still running
 * with its latest output line. Resolves to stdout; rejects with the last lines on failure.
 */
export function runWithProgress(cmd, args, { what, everyMs, env = process.env }) {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    const lines = []
    const keep = chunk => {
      for (const l of chunk.toString().split(/\r?\n|\r/)) if (l.trim() !== '') lines.push(l.trim())
      lines.splice(0, Math.max(0, lines.length - 30))
    }
    child.stdout.on('data', d => {
      stdout += d.toString()
      keep(d)
    })
    child.stderr.on('data', keep)
    const timer = setInterval(() => {
      say(`${what}: ${duration(Date.now() - started)} so far (${lines.at(-1) ?? 'no output yet'})`)
    }, everyMs)
    child.on('error', error => {
      clearInterval(timer)
      reject(error)
    })
    child.on('close', code => {
      clearInterval(timer)
      if (code === 0) resolve(stdout)
      else
        reject(
          new Error(`${what} failed (exit code ${code}); its last output:\n${lines.join('\n')}`)
        )
    })
  })
}

/**
 * Holds `<cache>/.build-lock` while `fn` runs, so two test runs never fetch or build at once: a
 * second run waits (saying so every `everyMs`) until the first is done or its process is gone.
 */
async function withLock(
  cache,
  everyMs,
  fn,
  { name = '.build-lock', what = 'fetches or builds llama.cpp' } = {}
) {
  const lock = path.join(cache, name)
  const started = Date.now()
  let said = 0
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(path.join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
    }
    let alive = true
    try {
      process.kill(Number(readFileSync(path.join(lock, 'pid'), 'utf8')), 0)
    } catch {
      // no pid file yet (just taken) or its owner is gone: stale once a minute old
      try {
        alive = Date.now() - statSync(lock).mtimeMs < 60_000
      } catch {
        alive = false
      }
    }
    if (!alive) {
      rmSync(lock, { recursive: true, force: true })
      continue
    }
    if (Date.now() - started >= said * everyMs) {
      say(`waiting for another test run that holds ${lock} (it ${what})`)
      said++
    }
    await new Promise(r => setTimeout(r, 1000))
  }
  try {
    return await fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/**
 * A built llama.cpp: $LLAMA_CPP_DIR or the newest in `cache`; else fetched (`fetch`, default
 * scripts/fetch-llama-cpp.sh) and built with `npm run prepare-llama`, under the cache's lock.
 * Fails first, in one sentence, when packages the build needs are missing.
 */
export async function ensureLlamaCpp({ cache = cacheFolder(), fetch, everyMs = 30_000 } = {}) {
  const found = findLlamaCpp(cache)
  if (found !== null && isBuiltLlamaCpp(found)) return found
  const missing = missingPackages({ build: true })
  if (missing.length > 0) {
    throw new Error(
      `The tests need to build llama.cpp and lack ${missing.join(', ')}: ${installHint(missing)}`
    )
  }
  mkdirSync(cache, { recursive: true })
  return withLock(cache, everyMs, async () => {
    const again = findLlamaCpp(cache) // another run may have built it while this one waited
    if (again !== null && isBuiltLlamaCpp(again)) return again
    const started = Date.now()
    const env = { ...process.env, MLX_FUSE_CACHE: cache }
    const dir =
      again ??
      (fetch
        ? await fetch(cache)
        : (
            await runWithProgress('bash', [path.join(ROOT, 'scripts', 'fetch-llama-cpp.sh')], {
              what: `fetching llama.cpp into ${cache}`,
              everyMs,
              env
            })
          )
            .trim()
            .split('\n')
            .pop())
    say(`building llama.cpp in ${dir} with npm run prepare-llama (once per machine; minutes)`)
    await runWithProgress('npm', ['run', '-s', 'prepare-llama', '--', dir], {
      what: `building llama.cpp in ${dir}`,
      everyMs,
      env
    })
    if (!isBuiltLlamaCpp(dir)) {
      throw new Error(
        `npm run prepare-llama made no llama-quantize and llama-completion in ${dir}.`
      )
    }
    say(`llama.cpp fetched and built in ${dir} in ${duration(Date.now() - started)}`)
    return dir
  })
}

/** The test variables and the lock file each environment is built from (scripts/prepare-envs.ts). */
export const TEST_ENVS = {
  MLX_FUSE_TEST_MLX_PYTHON: 'mlx-lm-0.32.2.txt',
  MLX_FUSE_TEST_MLX_OLD_PYTHON: 'mlx-lm-0.28.3.txt',
  MLX_FUSE_TEST_CONVERT_PYTHON: 'convert-llama.cpp-v0.4.0.txt'
}

/**
 * The environments of TEST_ENVS when `<cache>/python-envs/test-envs.json` (written by
 * scripts/prepare-envs.ts) names one for each lock file's current hash, and each still holds the
 * ready marker src/core/venv.ts writes last; else null.
 */
export function readyTestEnvs(cache = cacheFolder()) {
  let record
  try {
    record = JSON.parse(readFileSync(path.join(cache, 'python-envs', 'test-envs.json'), 'utf8'))
  } catch {
    return null
  }
  const found = {}
  for (const [variable, lock] of Object.entries(TEST_ENVS)) {
    const hash = createHash('sha256')
      .update(readFileSync(path.join(ROOT, 'locks', lock)))
      .digest('hex')
    const python = record?.made?.[variable]
    if (record?.locks?.[lock] !== hash || typeof python !== 'string') return null
    // READY_MARKER of src/core/venv.ts, next to bin/
    if (!existsSync(python) || !existsSync(path.join(python, '..', '..', '.mlx-fuse-ready')))
      return null
    found[variable] = python
  }
  return found
}

/**
 * The tests' Python environments from locks/ (TEST_ENVS), built once per lock hash into
 * `<cache>/python-envs` with `npm run prepare-envs` (the action's own environment manager), under
 * the cache's lock for environments; progress every `everyMs`. Resolves to { VARIABLE: python }.
 */
export async function ensureTestEnvs({ cache = cacheFolder(), everyMs = 30_000 } = {}) {
  const ready = readyTestEnvs(cache)
  if (ready) return ready
  mkdirSync(cache, { recursive: true })
  return withLock(
    cache,
    everyMs,
    async () => {
      const again = readyTestEnvs(cache) // another run may have built them while this one waited
      if (again) return again
      const started = Date.now()
      say(
        `building the Python environments of locks/ in ${cache}/python-envs (once per lock; minutes)`
      )
      const out = await runWithProgress('npm', ['run', '-s', 'prepare-envs', '--', cache], {
        what: 'building the Python environments of locks/',
        everyMs
      })
      for (const line of out.split('\n')) if (/\.txt: (ready|made in)/.test(line)) say(line)
      say(`Python environments ready in ${duration(Date.now() - started)}`)
      return JSON.parse(out.trim().split('\n').pop())
    },
    { name: '.envs-lock', what: 'builds the Python environments of locks/' }
  )
}

/**
 * The set-up of `npm run test:unit` (jest.unit.config.js): the packages and the python3 the
 * fixtures and the mlx_lm stand-in need, and nothing that fetches or builds (no llama.cpp, no
 * Python environments of locks/).
 */
export function unitSetup() {
  const missing = missingPackages({ build: false })
  if (missing.length > 0) {
    throw new Error(`The tests need ${missing.join(', ')}: ${installHint(missing)}`)
  }
  process.env.MLX_FUSE_TEST_PYTHON = testPython()
  // The tests choose the event a run is for: under CI, the job's own push or pull_request event
  // would make every in-process run() save or compare baselines (test/baseline/baseline.test.ts sets it).
  delete process.env.GITHUB_EVENT_NAME
}

export default async function globalSetup() {
  unitSetup()
  process.env.LLAMA_CPP_DIR = await ensureLlamaCpp()
  const envs = Object.keys(TEST_ENVS).every(v => process.env[v])
    ? Object.fromEntries(Object.keys(TEST_ENVS).map(v => [v, process.env[v]]))
    : await ensureTestEnvs()
  Object.assign(process.env, envs)
  const node = findNode24()
  say(
    `llama.cpp: ${process.env.LLAMA_CPP_DIR}; Python fixtures: ${process.env.MLX_FUSE_TEST_PYTHON}; ` +
      `the end-to-end tests run the action with Node ${node.version} (${node.path}); ` +
      `Python environments: ${Object.entries(envs)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`
  )
}
