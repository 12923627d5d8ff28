/**
 * The cold path of npm test's global set-up (test/global-setup.js) on a small fake llama.cpp
 * checkout, so it runs in seconds: with an empty cache folder it takes the checkout `fetch`
 * returns, builds it with the real `npm run prepare-llama` (cmake, the action's toolchain code),
 * prints progress lines and the time it took, and a second call reuses the build.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { ensureLlamaCpp, readyTestEnvs, TEST_ENVS, unitSetup } from './global-setup.js'
import unitGlobalSetup from './global-setup-unit.js'
import { ROOT, allOnPath, findLlamaCpp, installHint, missingPackages } from './fixtures/machine.js'

/** A checkout setupLlamaCpp accepts: two tiny programs as llama-quantize and llama-completion. */
async function fakeCheckout(dir: string): Promise<void> {
  await mkdir(join(dir, 'tools', 'quantize'), { recursive: true })
  await mkdir(join(dir, 'tools', 'completion'), { recursive: true })
  await writeFile(join(dir, 'convert_hf_to_gguf.py'), '')
  await writeFile(
    join(dir, 'tools', 'quantize', 'main.cpp'),
    // the line format of llama-quantize --help's type list
    '#include <cstdio>\nint main() { std::puts("Allowed quantization types:\\n  15  or  Q4_K_M  :  4.58G, +0.1754 ppl"); return 0; }\n'
  )
  await writeFile(join(dir, 'tools', 'completion', 'main.cpp'), 'int main() { return 0; }\n')
  await writeFile(
    join(dir, 'CMakeLists.txt'),
    [
      'cmake_minimum_required(VERSION 3.14)',
      'project(fake-llama CXX)',
      'set(LLAMA_VERSION_MAJOR 0)',
      'set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)',
      'add_executable(llama-quantize tools/quantize/main.cpp)',
      'add_executable(llama-completion tools/completion/main.cpp)',
      ''
    ].join('\n')
  )
}

let cache: string
const savedDir = process.env.LLAMA_CPP_DIR

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'fuse-cache-'))
  delete process.env.LLAMA_CPP_DIR
})
afterAll(async () => {
  process.env.LLAMA_CPP_DIR = savedDir
  await rm(cache, { recursive: true, force: true })
})

describe('global set-up: llama.cpp missing from the cache folder', () => {
  it('fetches, builds with npm run prepare-llama, reports progress and time, then reuses it', async () => {
    expect(findLlamaCpp(cache)).toBeNull()
    const lines: string[] = []
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      lines.push(String(chunk))
      return true
    })
    const fetched: string[] = []
    let dir: string
    try {
      dir = await ensureLlamaCpp({
        cache,
        everyMs: 500,
        fetch: async c => {
          fetched.push(c)
          const d = join(c, 'llama.cpp-fake0000000')
          await fakeCheckout(d)
          return d
        }
      })
    } finally {
      spy.mockRestore()
    }
    expect(fetched).toEqual([cache])
    expect(dir).toBe(join(cache, 'llama.cpp-fake0000000'))
    expect(existsSync(join(dir, 'build', 'bin', 'llama-quantize'))).toBe(true)
    const text = lines.join('')
    expect(text).toContain(`building llama.cpp in ${dir} with npm run prepare-llama`)
    // a progress line (every 500 ms here, 30 s by default) with the time so far
    expect(text).toMatch(/building llama\.cpp in .*: \d+ s so far \(/)
    expect(text).toMatch(/llama\.cpp fetched and built in .* in \d+ s\n/)
    expect(existsSync(join(cache, '.build-lock'))).toBe(false)

    // warm: found in the cache folder, nothing fetched or built
    expect(findLlamaCpp(cache)).toBe(dir)
    const again = await ensureLlamaCpp({
      cache,
      fetch: async () => {
        throw new Error('fetched again')
      }
    })
    expect(again).toBe(dir)
  }, 180_000)

  it('asks for git, cmake and a C++ compiler only when llama.cpp must be built', () => {
    const saved = process.env.PATH
    process.env.PATH = cache // a folder without any of them
    try {
      expect(missingPackages({ build: true })).toEqual(
        expect.arrayContaining(['git', 'cmake', 'g++'])
      )
      expect(missingPackages({ build: false })).not.toContain('cmake')
    } finally {
      process.env.PATH = saved
    }
  })

  it('names the exact apt-get line for missing Debian packages', () => {
    expect(installHint(['cmake', 'python3-numpy'])).toMatch(
      allOnPath('apt-get').length > 0
        ? /^run `(sudo )?apt-get install -y cmake python3-numpy` and try again\.$/
        : /^install the equivalent of Debian's cmake, python3-numpy \(on macOS: .*brew install cmake/
    )
  })
})

describe('global set-up: the Python environments of locks/', () => {
  it('takes the recorded environments only for the current lock hashes and while they are ready', async () => {
    const envs = join(cache, 'python-envs')
    const made: Record<string, string> = {}
    const locks: Record<string, string> = {}
    for (const [variable, lock] of Object.entries(TEST_ENVS)) {
      const dir = join(envs, lock)
      await mkdir(join(dir, 'bin'), { recursive: true })
      await writeFile(join(dir, 'bin', 'python'), '')
      await writeFile(join(dir, '.mlx-fuse-ready'), 'key\n') // src/core/venv.ts READY_MARKER
      made[variable] = join(dir, 'bin', 'python')
      locks[lock] = createHash('sha256')
        .update(await readFile(join(ROOT, 'locks', lock)))
        .digest('hex')
    }
    const record = async (r: object): Promise<void> =>
      writeFile(join(envs, 'test-envs.json'), JSON.stringify(r))
    expect(readyTestEnvs(cache)).toBeNull() // nothing recorded yet
    await record({ locks, made })
    expect(readyTestEnvs(cache)).toEqual(made)
    // a lock file changed since: build again
    const [first] = Object.values(TEST_ENVS)
    await record({ locks: { ...locks, [first]: '0'.repeat(64) }, made })
    expect(readyTestEnvs(cache)).toBeNull()
    // an environment half-made again (no ready marker): build again
    await record({ locks, made })
    await rm(join(envs, first, '.mlx-fuse-ready'))
    expect(readyTestEnvs(cache)).toBeNull()
  })
})

describe("npm run test:unit's set-up", () => {
  it('is the one jest.unit.config.js names', async () => {
    const config = '../jest.unit.config.js' // plain JavaScript outside the typed folders
    const unitConfig = ((await import(config)) as { default: { globalSetup: string } }).default
    expect(unitConfig.globalSetup).toBe('<rootDir>/test/global-setup-unit.js')
    expect(unitGlobalSetup).toBe(unitSetup)
  })

  it("finds the fixtures' python3 and fetches, builds and records nothing", async () => {
    const cache = await mkdtemp(join(tmpdir(), 'unit-cache-'))
    const names = [
      'MLX_FUSE_CACHE',
      'LLAMA_CPP_DIR',
      'MLX_FUSE_TEST_PYTHON',
      ...Object.keys(TEST_ENVS)
    ]
    const saved = Object.fromEntries(names.map(n => [n, process.env[n]]))
    for (const n of names) delete process.env[n]
    process.env.MLX_FUSE_CACHE = cache
    try {
      unitSetup()
      expect(process.env.MLX_FUSE_TEST_PYTHON).toMatch(/python3/)
      expect(process.env.LLAMA_CPP_DIR).toBeUndefined()
      for (const v of Object.keys(TEST_ENVS)) expect(process.env[v]).toBeUndefined()
      expect(await readdir(cache)).toEqual([])
    } finally {
      for (const n of names) {
        if (saved[n] === undefined) delete process.env[n]
        else process.env[n] = saved[n]
      }
    }
  })
})
