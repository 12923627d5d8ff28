/**
 * Cached toolchains (issue 17) through the real `@actions/cache` 6.3.0 against the loopback fake
 * of the cache service: the keys and versions it receives, a save then a restore hit, a restored
 * folder that fails its check (removed, to be built again), and the service's faults (reservation
 * refused, 5xx on upload, corrupt download), each a reason and never a throw.
 */
import { jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as core from '../__fixtures__/core.js'
import { startCacheService, type CacheService } from '../fixtures/cache-service.js'

jest.unstable_mockModule('@actions/core', () => core)

const { toolchainKey, restoreToolchain, saveToolchain, toolCacheUnavailable } =
  await import('../../src/core/tool-cache.js')
type Part = Parameters<typeof restoreToolchain>[0]

let root: string
let cache: CacheService
const savedEnv = { ...process.env }
const startDir = process.cwd()

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tool-cache-'))
})

beforeEach(async () => {
  cache = await startCacheService()
  const workspace = await fs.mkdtemp(path.join(root, 'ws-'))
  process.chdir(workspace)
  Object.assign(process.env, cache.env, { GITHUB_WORKSPACE: workspace })
})

afterEach(async () => {
  core.reset()
  await cache.close()
  process.chdir(startDir)
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
  Object.assign(process.env, savedEnv)
})

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

/** A built "toolchain": a folder with a tool whose presence and content the check reads. */
async function makePart(name: string, check?: Part['check']): Promise<Part> {
  const dir = path.join(root, name, 'build')
  return {
    label: `${name} build`,
    kind: 'llama-cpp',
    dir,
    inputs: { commit: 'b6000', options: '-DGGML_METAL=OFF' },
    check:
      check ??
      (async d => {
        const text = await fs
          .readFile(path.join(d, 'bin', 'llama-quantize'), 'utf8')
          .catch(() => '')
        return text === 'tool v1' ? null : 'llama-quantize --help failed'
      })
  }
}

async function build(part: Part): Promise<void> {
  await fs.mkdir(path.join(part.dir, 'bin'), { recursive: true })
  await fs.writeFile(path.join(part.dir, 'bin', 'llama-quantize'), 'tool v1')
}

test('the key names kind, OS and arch, and changes with every input and the absolute path', async () => {
  const part = await makePart('keys')
  const key = toolchainKey(part, 'linux', 'x64')
  expect(key).toMatch(/^mlx-fuse-action-toolchain-llama-cpp-linux-x64-[0-9a-f]{32}$/)
  expect(toolchainKey(part, 'linux', 'x64')).toBe(key)
  expect(toolchainKey(part, 'darwin', 'arm64')).not.toBe(key)
  expect(
    toolchainKey({ ...part, inputs: { ...part.inputs, commit: 'b6001' } }, 'linux', 'x64')
  ).not.toBe(key)
  expect(toolchainKey({ ...part, dir: part.dir + '2' }, 'linux', 'x64')).not.toBe(key)
  expect(() => toolchainKey({ ...part, dir: 'relative/build' })).toThrow('not absolute')
})

test('a saved build is restored where it was, checked, and the service received its key and version', async () => {
  const part = await makePart('hit')
  await build(part)
  expect(await saveToolchain(part)).toBeNull()
  const created = cache.calls.find(c => c.method === 'CreateCacheEntry')
  expect(created?.body.key).toBe(toolchainKey(part))
  expect(String(created?.body.version)).toMatch(/^[0-9a-f]{64}$/)

  await fs.rm(part.dir, { recursive: true })
  const result = await restoreToolchain(part)
  expect(result.status).toBe('restored')
  expect(await fs.readFile(path.join(part.dir, 'bin', 'llama-quantize'), 'utf8')).toBe('tool v1')
  const lookups = cache.calls.filter(c => c.method === 'GetCacheEntryDownloadURL')
  expect(lookups.length).toBe(2)
  for (const l of lookups) {
    expect(l.body.key).toBe(toolchainKey(part))
    expect(l.body.version).toBe(created?.body.version)
  }
})

test('an existing folder is never touched, and a missing entry is a miss', async () => {
  const part = await makePart('local')
  await build(part)
  expect((await restoreToolchain(part)).status).toBe('miss')
  expect(cache.calls).toEqual([])
  await fs.rm(part.dir, { recursive: true })
  expect((await restoreToolchain(part)).status).toBe('miss')
  await expect(fs.access(part.dir)).rejects.toThrow()
})

test('a restored folder that fails its check is removed, to be built again', async () => {
  const part = await makePart('check')
  await build(part)
  expect(await saveToolchain(part)).toBeNull()
  await fs.rm(part.dir, { recursive: true })
  const result = await restoreToolchain({ ...part, check: async () => 'import mlx_lm failed' })
  expect(result).toMatchObject({ status: 'rejected', why: 'import mlx_lm failed' })
  await expect(fs.access(part.dir)).rejects.toThrow()
})

test('a corrupt download is a fault with the folder removed', async () => {
  const part = await makePart('corrupt')
  await build(part)
  expect(await saveToolchain(part)).toBeNull()
  await fs.rm(part.dir, { recursive: true })
  cache.options.corruptDownload = Buffer.from('not a tar archive at all')
  const result = await restoreToolchain(part)
  expect(result.status).toBe('fault')
  await expect(fs.access(part.dir)).rejects.toThrow()
})

test.each([
  ['a refused reservation', { refuseReservation: 'already exists' }],
  ['a 5xx on upload', { uploadStatus: 502 }]
])('%s leaves the build in place and gives a reason', async (_name, options) => {
  Object.assign(cache.options, options)
  const part = await makePart(`save-${_name.replace(/\W+/g, '-')}`)
  await build(part)
  const why = await saveToolchain(part)
  expect(why).toContain(toolchainKey(part))
  expect(await fs.readFile(path.join(part.dir, 'bin', 'llama-quantize'), 'utf8')).toBe('tool v1')
})

test('without the cache service the reason is one sentence', async () => {
  delete process.env.ACTIONS_RESULTS_URL
  delete process.env.ACTIONS_CACHE_URL
  expect(await toolCacheUnavailable()).toMatch(/^the Actions cache service is not available/)
})

test('a Python environment is saved after it is made, restored and checked on a new runner, and made again when its check fails', async () => {
  const { ensureEnv } = await import('../../src/core/venv.js')
  const spec = {
    name: 'cached-env',
    base: 'python3',
    steps: [],
    root: path.join(root, 'envs'),
    hint: 'install python3',
    cache: { check: 'import json' }
  }
  const made = await ensureEnv(spec)
  expect(made.reused).toBe(false)
  expect(made.restored).toBeUndefined()
  expect(made.toolchain).toMatch(
    /^Python environment cached-env: not in the Actions cache \(\d+\.\d s\); made in \d+\.\d s; saved to the Actions cache$/
  )
  expect((await ensureEnv(spec)).toolchain).toBe(
    'Python environment cached-env: reused (already on the runner)'
  )
  const created = cache.calls.find(c => c.method === 'CreateCacheEntry')
  expect(String(created?.body.key)).toMatch(/^mlx-fuse-action-toolchain-env-cached-env-/)

  await fs.rm(made.dir, { recursive: true })
  const restored = await ensureEnv(spec)
  expect(restored).toMatchObject({ dir: made.dir, restored: true, key: made.key })
  expect(restored.toolchain).toMatch(
    /^Python environment cached-env: restored from the Actions cache in \d+\.\d s$/
  )
  await fs.access(restored.python)

  await fs.rm(made.dir, { recursive: true })
  const again = await ensureEnv({ ...spec, cache: { check: 'import not_a_module_here' } })
  expect(again.restored).toBeUndefined()
  expect(again.toolchain).toMatch(
    /^Python environment cached-env: the cached copy was not used \(python -c "import not_a_module_here" exited with code 1\); made in \d+\.\d s; not saved \(.+\)$/
  )
  expect(core.notice).toHaveBeenCalledWith(
    expect.stringContaining('The cached Python environment cached-env was not used')
  )
  await fs.access(again.python)
})

/** An environment spec of its own for each case (a fresh key, a fresh folder). */
const envSpec = (name: string) => ({
  name,
  base: 'python3',
  steps: [],
  root: path.join(root, `envs-${name}`),
  hint: 'install python3',
  cache: { check: 'import json' }
})

test.each([
  ['a refused reservation', { refuseReservation: 'already exists' }],
  ['a 5xx on upload', { uploadStatus: 502 }]
])(
  '%s while saving an environment: a notice, the environment made and usable, nothing saved',
  async (name, options) => {
    const { ensureEnv } = await import('../../src/core/venv.js')
    Object.assign(cache.options, options)
    const spec = envSpec(`save-${name.replace(/\W+/g, '-')}`)
    const made = await ensureEnv(spec)
    expect(made.toolchain).toMatch(
      new RegExp(
        `^Python environment ${spec.name}: not in the Actions cache \\(\\d+\\.\\d s\\); made in \\d+\\.\\d s; not saved \\(the cache did not take the entry "mlx-fuse-action-toolchain-env-${spec.name}-`
      )
    )
    expect(core.notice.mock.calls.map(call => String(call[0]))).toEqual([
      expect.stringMatching(
        new RegExp(`^The Python environment ${spec.name} was not saved to the Actions cache: `)
      )
    ])
    expect(cache.entries.filter(e => e.finalized)).toEqual([])
    await fs.access(made.python)
  }
)

test('a corrupt download of a saved environment: a notice, the environment made again', async () => {
  const { ensureEnv } = await import('../../src/core/venv.js')
  const spec = envSpec('corrupt-env')
  const made = await ensureEnv(spec)
  expect(made.toolchain).toMatch(/; saved to the Actions cache$/)
  await fs.rm(made.dir, { recursive: true })
  cache.options.corruptDownload = Buffer.from('not a tar archive at all')
  const again = await ensureEnv(spec)
  expect(again.restored).toBeUndefined()
  expect(again.toolchain).toMatch(
    /^Python environment corrupt-env: the cached copy was not used \(.+\); made in \d+\.\d s; not saved \(.+\)$/
  )
  expect(core.notice.mock.calls.map(call => String(call[0]))).toContainEqual(
    expect.stringMatching(
      /^The cached Python environment corrupt-env was not used \(.+\); it is made again\.$/
    )
  )
  await fs.access(again.python)
})

test('the summary note lists each part under one heading, and is absent without cache-toolchain', async () => {
  const { toolchainNote } = await import('../../src/core/tool-cache.js')
  expect(toolchainNote([])).toEqual([])
  expect(
    toolchainNote([
      'llama.cpp build: restored from the Actions cache in 2.0 s',
      'Python environment mlx-lm-0.32.2: reused (already on the runner)'
    ])
  ).toEqual([
    'Toolchain (cache-toolchain):\nllama.cpp build: restored from the Actions cache in 2.0 s\nPython environment mlx-lm-0.32.2: reused (already on the runner)'
  ])
})
