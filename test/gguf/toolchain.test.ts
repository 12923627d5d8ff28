/**
 * setupLlamaCpp on the real, already built checkout (nothing is built), and the clone and build
 * paths on a tiny fake llama.cpp: a git repository served as a file:// URL whose CMake project
 * "builds" llama-quantize and llama-completion by linking the real binaries into build/bin.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'

import { ActionError } from '../../src/core/types.js'
import { toolPaths } from '../../src/core/config.js'
import {
  BUILD_GROUP,
  buildLlamaCpp,
  cloneLlamaCpp,
  findBinaries,
  readLlamaCppVersion,
  setupLlamaCpp
} from '../../src/gguf/toolchain.js'
import { startCacheService } from '../fixtures/cache-service.js'
import { captureStdout, realLlamaCpp } from '../fixtures/llama-stand-in/helpers.js'

const llama = realLlamaCpp()
let work: string
let out: ReturnType<typeof captureStdout>

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()

/** A fake llama.cpp source tree; its CMake project needs no compiler. */
async function fakeTree(dir: string, opts: { layout: 'tools' | 'examples' }): Promise<void> {
  await mkdir(dir, { recursive: true })
  const generator = opts.layout === 'tools' ? 'llama-completion' : 'llama-cli'
  await writeFile(join(dir, 'convert_hf_to_gguf.py'), '# fake\n')
  if (opts.layout === 'tools') {
    for (const tool of ['quantize', 'completion']) {
      await mkdir(join(dir, 'tools', tool), { recursive: true })
      await writeFile(join(dir, 'tools', tool, 'CMakeLists.txt'), '# fake\n')
    }
  }
  const link = (target: string, real: string): string =>
    `add_custom_target(${target}\n` +
    `  COMMAND \${CMAKE_COMMAND} -E make_directory \${CMAKE_BINARY_DIR}/bin\n` +
    `  COMMAND \${CMAKE_COMMAND} -E create_symlink ${real} \${CMAKE_BINARY_DIR}/bin/${target}\n` +
    `  COMMAND \${CMAKE_COMMAND} -E echo ${target} >> \${CMAKE_SOURCE_DIR}/built.log)\n`
  await writeFile(
    join(dir, 'CMakeLists.txt'),
    'cmake_minimum_required(VERSION 3.14)\n' +
      'project("llama.cpp" NONE)\n' +
      'set(LLAMA_VERSION_MAJOR 9)\nset(LLAMA_VERSION_MINOR 8)\nset(LLAMA_VERSION_PATCH 7)\n' +
      'file(APPEND ${CMAKE_SOURCE_DIR}/configure.log "CMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE} ' +
      'LLAMA_BUILD_TESTS=${LLAMA_BUILD_TESTS} LLAMA_BUILD_EXAMPLES=${LLAMA_BUILD_EXAMPLES} ' +
      'LLAMA_BUILD_SERVER=${LLAMA_BUILD_SERVER} BUILD_SHARED_LIBS=${BUILD_SHARED_LIBS} ' +
      'GGML_NATIVE=${GGML_NATIVE}\\n")\n' +
      link('llama-quantize', llama.quantize) +
      link(generator, llama.completion)
  )
}

beforeAll(async () => {
  out = captureStdout()
  work = await mkdtemp(join(tmpdir(), 'gguf-toolchain-'))
})

afterAll(async () => {
  out.restore()
  await rm(work, { recursive: true, force: true })
})

describe('setupLlamaCpp on the real checkout (llama-cpp-dir)', () => {
  it('uses the existing build, reads version, commit and types, builds nothing', async () => {
    const before = statSync(llama.quantize).mtimeMs
    out.clear()
    const started = Date.now()
    const cpp = await setupLlamaCpp({
      dir: llama.dir,
      ref: 'unused',
      repoUrl: 'file:///nonexistent',
      toolCacheDir: join(work, 'unused-cache')
    })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(out.text()).not.toContain(BUILD_GROUP)
    expect(out.text()).toContain('is already built')
    expect(statSync(llama.quantize).mtimeMs).toBe(before)
    expect(existsSync(join(work, 'unused-cache'))).toBe(false)
    expect(cpp).toMatchObject({
      dir: llama.dir,
      version: '0.4.0',
      quantize: llama.quantize,
      generator: llama.completion,
      convertScript: llama.convertScript
    })
    expect(cpp.commit).toBe(git(llama.dir, 'rev-parse', 'HEAD'))
    expect(cpp.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(cpp.types.ftypes.Q4_K_M).toBe(15)
    expect(cpp.types.dryRun).toBe(true)
    expect(await findBinaries(llama.dir)).toEqual({
      quantize: llama.quantize,
      generator: llama.completion,
      split: join(llama.dir, 'build', 'bin', 'llama-gguf-split'),
      perplexity: join(llama.dir, 'build', 'bin', 'llama-perplexity'),
      tokenize: join(llama.dir, 'build', 'bin', 'llama-tokenize')
    })
  })

  it('refuses a llama-cpp-dir that is missing or not a llama.cpp checkout', async () => {
    for (const dir of [join(work, 'nope'), work]) {
      const err = await setupLlamaCpp({ dir, ref: 'x', repoUrl: 'x', toolCacheDir: work }).catch(
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(ActionError)
      expect((err as Error).message).toMatch(/^Input llama-cpp-dir is "/)
    }
  })
})

describe('clone and build, on a fake llama.cpp repository', () => {
  let repo: string
  let url: string
  let commit: string

  beforeAll(async () => {
    repo = join(work, 'repo')
    await fakeTree(repo, { layout: 'tools' })
    git(repo, 'init', '-q', '-b', 'master')
    git(repo, 'add', '.')
    git(repo, 'commit', '-q', '-m', 'v9.8.7')
    git(repo, 'tag', 'v9.8.7')
    commit = git(repo, 'rev-parse', 'HEAD')
    await writeFile(join(repo, 'later.txt'), 'after the tag\n')
    git(repo, 'add', '.')
    git(repo, 'commit', '-q', '-m', 'later')
    url = `file://${repo}`
  })

  it('clones the tag shallowly into <toolCacheDir>/llama.cpp/<ref>, then reuses it', async () => {
    const cache = join(work, 'cache-clone')
    const dir = await cloneLlamaCpp('v9.8.7', url, cache)
    expect(dir).toBe(toolPaths(cache).llamaCppClone('v9.8.7'))
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(commit)
    expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('1')
    expect(existsSync(join(dir, 'later.txt'))).toBe(false)
    await writeFile(join(dir, 'marker'), 'kept')
    out.clear()
    expect(await cloneLlamaCpp('v9.8.7', url, cache)).toBe(dir)
    expect(out.text()).toContain('Reusing the llama.cpp v9.8.7 checkout')
    expect(existsSync(join(dir, 'marker'))).toBe(true)
  })

  it('names llama-cpp-ref when the tag does not exist or is not a ref', async () => {
    const cache = join(work, 'cache-bad')
    const err = await cloneLlamaCpp('v0.0.0-missing', url, cache).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ActionError)
    expect((err as Error).message).toContain(
      'check that llama-cpp-ref names an existing tag or branch'
    )
    expect(existsSync(toolPaths(cache).llamaCppClone('v0.0.0-missing'))).toBe(false)
    const bad = await cloneLlamaCpp('--upload-pack=x', url, cache).catch((e: unknown) => e)
    expect((bad as Error).message).toContain('Input llama-cpp-ref is "--upload-pack=x"')
  })

  it('says the host could not be reached, and how to use a local checkout, without network', async () => {
    const cache = join(work, 'cache-offline')
    // nothing listens on port 1: git fails the way it does on a runner without network
    const unreachable = 'https://127.0.0.1:1/ggml-org/llama.cpp.git'
    const err = await cloneLlamaCpp('v9.8.7', unreachable, cache).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ActionError)
    const message = (err as Error).message
    expect(message).toContain(`because ${unreachable} could not be reached`)
    expect(message).toContain('set llama-cpp-dir to a local llama.cpp checkout')
    expect(message).toContain(`git clone --depth 1 --branch v9.8.7 ${unreachable}`)
    expect(message).not.toContain('names an existing tag')
    expect(existsSync(toolPaths(cache).llamaCppClone('v9.8.7'))).toBe(false)
  })

  it('cache-toolchain: saves the build, restores it instead of building, and rebuilds after a corrupt download', async () => {
    const service = await startCacheService()
    const saved = { ...process.env }
    Object.assign(process.env, service.env, { GITHUB_WORKSPACE: work })
    try {
      const cache = join(work, 'cache-toolchain')
      const dir = toolPaths(cache).llamaCppClone('v9.8.7')
      const opts = { ref: 'v9.8.7', repoUrl: url, toolCacheDir: cache, cacheToolchain: true }
      out.clear()
      const first = await setupLlamaCpp(opts)
      expect(out.text()).toContain(`::group::${BUILD_GROUP}`)
      expect(service.entries.filter(e => e.finalized).map(e => e.key)).toEqual([
        expect.stringMatching(/^mlx-fuse-action-toolchain-llama-cpp-/)
      ])
      // The summary's line: what happened, how long it took, and the save.
      expect(first.toolchain).toMatch(
        /^llama\.cpp build: not in the Actions cache \(\d+\.\d s\); built in \d+\.\d s; saved to the Actions cache$/
      )
      expect((await setupLlamaCpp(opts)).toolchain).toBe(
        'llama.cpp build: reused (already on the runner)'
      )

      // a new runner: the clone is there, its build is not
      await rm(join(dir, 'build'), { recursive: true })
      await rm(join(dir, 'built.log'))
      out.clear()
      const cpp = await setupLlamaCpp(opts)
      expect(out.text()).not.toContain(BUILD_GROUP)
      expect(out.text()).toContain('llama.cpp build: restored from the Actions cache in')
      expect(cpp.toolchain).toMatch(
        /^llama\.cpp build: restored from the Actions cache in \d+\.\d s$/
      )
      expect(existsSync(join(dir, 'built.log'))).toBe(false)
      expect(cpp.types.names).toContain('Q4_K_M')

      await rm(join(dir, 'build'), { recursive: true })
      service.options.corruptDownload = Buffer.from('not an archive')
      out.clear()
      const rebuilt = await setupLlamaCpp(opts)
      expect(rebuilt.toolchain).toMatch(
        /^llama\.cpp build: the cached copy was not used \(.+\); built in \d+\.\d s; not saved \(.+\)$/
      )
      expect(out.text()).toContain('::notice::The cached llama.cpp build was not used')
      expect(out.text()).toContain(`::group::${BUILD_GROUP}`)
      expect(await readFile(join(dir, 'built.log'), 'utf8')).toBe(
        'llama-quantize\nllama-completion\n'
      )
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
      Object.assign(process.env, saved)
      await service.close()
    }
  })

  it('setupLlamaCpp clones, builds once with the minimal flags, and then reuses the build', async () => {
    const cache = join(work, 'cache-setup')
    out.clear()
    const cpp = await setupLlamaCpp({ ref: 'v9.8.7', repoUrl: url, toolCacheDir: cache })
    const dir = toolPaths(cache).llamaCppClone('v9.8.7')
    expect(out.text()).toContain(`::group::${BUILD_GROUP}`)
    expect(cpp).toMatchObject({
      dir,
      version: '9.8.7',
      commit,
      quantize: join(dir, 'build', 'bin', 'llama-quantize'),
      generator: join(dir, 'build', 'bin', 'llama-completion'),
      convertScript: join(dir, 'convert_hf_to_gguf.py')
    })
    // the help of the (linked) real llama-quantize
    expect(cpp.types.names).toContain('Q4_K_M')
    expect(await readFile(join(dir, 'configure.log'), 'utf8')).toBe(
      'CMAKE_BUILD_TYPE=Release LLAMA_BUILD_TESTS=OFF LLAMA_BUILD_EXAMPLES=OFF ' +
        'LLAMA_BUILD_SERVER=OFF BUILD_SHARED_LIBS=OFF GGML_NATIVE=OFF\n'
    )
    expect(await readFile(join(dir, 'built.log'), 'utf8')).toBe(
      'llama-quantize\nllama-completion\n'
    )

    expect(cpp.toolchain).toBeUndefined() // no cache-toolchain: nothing for the summary
    out.clear()
    const again = await setupLlamaCpp({ ref: 'v9.8.7', repoUrl: url, toolCacheDir: cache })
    expect(again).toEqual(cpp)
    expect(out.text()).not.toContain(BUILD_GROUP)
    expect(await readFile(join(dir, 'built.log'), 'utf8')).toBe(
      'llama-quantize\nllama-completion\n'
    )
  })

  it('builds llama-cli with the examples on for the older tree layout', async () => {
    const old = join(work, 'old-layout')
    await fakeTree(old, { layout: 'examples' })
    await buildLlamaCpp(old)
    expect(await readFile(join(old, 'configure.log'), 'utf8')).toContain('LLAMA_BUILD_EXAMPLES=ON')
    expect(await findBinaries(old)).toEqual({
      quantize: join(old, 'build', 'bin', 'llama-quantize'),
      generator: join(old, 'build', 'bin', 'llama-cli'),
      split: null,
      perplexity: null,
      tokenize: null
    })
    expect(await readLlamaCppVersion(old)).toBe('9.8.7')
    expect(await readLlamaCppVersion(join(work, 'nothing'))).toBe('unknown')
  })
})
