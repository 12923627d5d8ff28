/**
 * The one environment manager (src/core/venv.ts) against a loopback package index: one readiness
 * rule (the key in a marker written last), a folder per key, half-made folders made again, a
 * failed install removed with one sentence, lock files installed with --no-deps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { envDir, ensureEnv, findEnv, READY_MARKER, type EnvSpec } from '../../src/core/venv.js'
import { mlxEnvSpec } from '../../src/mlx/python.js'
import { startPackageIndex, type PackageIndex } from '../fixtures/pypi-index.js'
import { buildStandInWheel } from '../fixtures/tiny.js'

let root: string
let index: PackageIndex
const saved = { ...process.env }

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'venv-')))
  index = await startPackageIndex([await buildStandInWheel(path.join(root, 'wheel'), '0.32.2')])
  // pip here reads only the loopback index (the machine's pip config is set aside).
  for (const k of Object.keys(process.env)) if (k.startsWith('PIP_')) delete process.env[k]
  process.env.PIP_CONFIG_FILE = '/dev/null'
  process.env.PIP_INDEX_URL = `${index.url}/simple/`
})
afterAll(async () => {
  process.env = saved
  await index.close()
})

const spec = (over: Partial<EnvSpec> = {}): EnvSpec => ({
  name: 'test-env',
  base: 'python3',
  steps: [{ requirements: 'mlx-lm==0.32.2\n', fileName: 'lock.txt', noDeps: true }],
  root: path.join(root, 'envs'),
  hint: 'fix the test',
  ...over
})

/** The nvidia-* packages `pip list` shows in an environment (the tests let none in). */
const noNvidia = (python: string): string[] =>
  (
    JSON.parse(
      execFileSync(python, ['-P', '-m', 'pip', 'list', '--format=json'], {
        cwd: os.tmpdir()
      }).toString()
    ) as Array<{ name: string }>
  )
    .map(p => p.name)
    .filter(n => /^nvidia[-_]/i.test(n))

const wheelRequests = (): number => index.requests.filter(r => r.endsWith('.whl')).length

describe('ensureEnv', () => {
  it('makes an environment once, keyed by what it installs, and reuses it while ready', async () => {
    const made = await ensureEnv(spec())
    expect(made.reused).toBe(false)
    expect(path.basename(made.dir)).toMatch(/^test-env-py3\.\d+\.\d+-[0-9a-f]{12}$/)
    expect((await fs.readFile(path.join(made.dir, READY_MARKER), 'utf8')).trim()).toBe(made.key)
    // the lock's text is kept in the environment, and was installed as a lock
    expect(await fs.readFile(path.join(made.dir, '0-lock.txt'), 'utf8')).toBe('mlx-lm==0.32.2\n')
    expect(noNvidia(made.python)).toEqual([])
    const before = wheelRequests()
    const again = await ensureEnv(spec())
    expect(again).toMatchObject({ dir: made.dir, reused: true })
    expect(wheelRequests()).toBe(before)

    // other requirements: another folder, never the same one reused
    const other = spec({ steps: [{ packages: ['mlx-lm==0.32.2'] }] })
    expect(envDir(other, made.pythonVersion)).not.toBe(made.dir)
    expect(await findEnv(other)).toBeNull()
  })

  it('makes a half-made environment again: no marker, or a marker with another key', async () => {
    const s = spec({ name: 'half-made' })
    const first = await ensureEnv(s)
    await fs.writeFile(path.join(first.dir, 'leftover'), '')
    await fs.rm(path.join(first.dir, READY_MARKER))
    expect(await findEnv(s)).toBeNull()
    const remade = await ensureEnv(s)
    expect(remade).toMatchObject({ dir: first.dir, reused: false })
    await expect(fs.stat(path.join(first.dir, 'leftover'))).rejects.toThrow(/ENOENT/)

    await fs.writeFile(path.join(first.dir, READY_MARKER), 'another key\n')
    expect(await findEnv(s)).toBeNull()
  })

  it('removes the folder of a failed install and says so in one sentence', async () => {
    const s = spec({ name: 'broken', steps: [{ packages: ['mlx-lm==9.9.9'] }] })
    await expect(ensureEnv(s)).rejects.toThrow(
      /^pip install mlx-lm==9\.9\.9 for the broken environment failed with exit code 1 \(.*No matching distribution found for mlx-lm==9\.9\.9.*\); fix the test\.$/
    )
    await expect(fs.readdir(s.root)).resolves.not.toContainEqual(expect.stringMatching(/^broken-/))
  })

  it('refuses a base interpreter that does not run, naming it', async () => {
    await expect(ensureEnv(spec({ base: path.join(root, 'no-python') }))).rejects.toThrow(
      /The Python ".*no-python" that the test-env environment is made from does not run/
    )
  })
})

describe("the action's mlx-lm environment", () => {
  it('installs MLX with its CPU backend on Linux, and mlx-lm alone on macOS', () => {
    expect(mlxEnvSpec('0.32.2', 'python3', '/tc', 'linux').steps).toEqual([
      { packages: ['mlx-lm[cpu]==0.32.2'] }
    ])
    expect(mlxEnvSpec('0.32.2', 'python3', '/tc', 'darwin').steps).toEqual([
      { packages: ['mlx-lm==0.32.2'] }
    ])
    expect(mlxEnvSpec('0.32.2', 'python3', '/tc').root).toBe('/tc/mlx-fuse-action/python-envs')
  })
})
