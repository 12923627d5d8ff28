/**
 * Builds the tests' Python environments from the lock files in locks/ with the action's own
 * environment manager (src/core/venv.ts: one readiness rule, cached by the hash of what is
 * installed and the interpreter's version), under `<cache>/python-envs`, once per lock hash.
 * The locks are for CPython 3.11 on Linux x86_64: the base is `python3.11` on PATH, else `python3`
 * when it is 3.11.
 *
 * Usage: npm run prepare-envs -- <cache folder>
 * Prints the action's log of what it made, then one last line: a JSON object mapping each test
 * variable (MLX_FUSE_TEST_MLX_PYTHON, ...) to its environment's python. It also writes that
 * object, with each lock file's sha256, to `<cache>/python-envs/test-envs.json`, which jest's
 * global set-up reads to skip this script while the locks are unchanged.
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { interpreterVersion } from '../src/core/python.js'
import { ensureEnv, type EnvSpec } from '../src/core/venv.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const LOCKS = path.join(ROOT, 'locks')

/** Test variable → lock file: the names other test files rely on. */
export const TEST_ENVS: Record<string, string> = {
  MLX_FUSE_TEST_MLX_PYTHON: 'mlx-lm-0.32.2.txt',
  MLX_FUSE_TEST_MLX_OLD_PYTHON: 'mlx-lm-0.28.3.txt',
  MLX_FUSE_TEST_CONVERT_PYTHON: 'convert-llama.cpp-v0.4.0.txt'
}

async function basePython(): Promise<string> {
  for (const candidate of ['python3.11', 'python3']) {
    const version = await interpreterVersion(candidate)
    if (version?.startsWith('3.11.')) return candidate
  }
  throw new Error(
    'The lock files in locks/ are for CPython 3.11 and no python3.11 (nor a python3 that is 3.11) is on PATH: install Python 3.11 (Debian 12: apt-get install python3 python3-venv; elsewhere pyenv or actions/setup-python) and try again.'
  )
}

const cache = process.argv[2]
if (!cache) {
  console.error('usage: npm run prepare-envs -- <cache folder>')
  process.exit(2)
}
const root = path.join(path.resolve(cache), 'python-envs')
const base = await basePython()
const made: Record<string, string> = {}
const locks: Record<string, string> = {}
for (const [variable, lock] of Object.entries(TEST_ENVS)) {
  const text = await fs.readFile(path.join(LOCKS, lock), 'utf8')
  locks[lock] = createHash('sha256').update(text).digest('hex')
  const spec: EnvSpec = {
    name: path.basename(lock, '.txt'),
    base,
    steps: [{ requirements: text, fileName: lock, noDeps: true }],
    root,
    hint: `fix locks/${lock} or the network, then run npm test again`
  }
  const started = Date.now()
  const env = await ensureEnv(spec)
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  console.log(`${lock}: ${env.reused ? 'ready' : `made in ${seconds} s`}, ${env.dir}`)
  made[variable] = env.python
}
await fs.writeFile(
  path.join(root, 'test-envs.json'),
  `${JSON.stringify({ locks, made }, null, 2)}\n`
)
console.log(JSON.stringify(made))
