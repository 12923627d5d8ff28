/** A llama.cpp checkout ready to use: given or cloned, built when needed, its version and types read. */
import * as core from '@actions/core'
import * as io from '@actions/io'
import { promises as fs } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import { toolPaths } from '../core/config.js'
import { exists } from '../core/folders.js'
import { clearForOutput } from '../core/workspace.js'
import { ActionError } from '../core/types.js'
import { parseQuantizeHelp, type QuantizeTypes } from './quant-types.js'
import { probe, runStep } from '../core/run.js'
import * as log from '../core/log.js'
import {
  restoreToolchain,
  saveToolchain,
  toolCacheUnavailable,
  type ToolchainPart
} from '../core/tool-cache.js'

/** A llama.cpp checkout ready to convert, quantize and run GGUF files. */
export interface LlamaCpp {
  dir: string
  /** From CMakeLists.txt (LLAMA_VERSION_MAJOR.MINOR.PATCH), or `unknown` for older checkouts. */
  version: string
  /** `git rev-parse HEAD`, or `unknown` when the directory is not a git checkout. */
  commit: string
  quantize: string
  /** llama-completion, or llama-cli in checkouts from before it existed. */
  generator: string
  /** llama-gguf-split, or null for a checkout without it (older than the gguf-split tool). */
  split: string | null
  /** llama-perplexity (the quality measurements), or null for a checkout without its source. */
  perplexity: string | null
  /** llama-tokenize (the tokenizer comparison), or null for a checkout without its source. */
  tokenize: string | null
  convertScript: string
  /** What this checkout's `llama-quantize --help` lists. */
  types: QuantizeTypes
  /**
   * With cache-toolchain: one line for the summary saying whether the build was reused, restored
   * or built, how long that took, and whether it was saved.
   */
  toolchain?: string
}

export interface SetupOptions {
  /** The `llama-cpp-dir` input (empty or undefined: clone `ref`). */
  dir?: string
  /** The `llama-cpp-ref` input: a tag or branch. */
  ref: string
  repoUrl: string
  /** The tool-cache root; clones live in `toolPaths(toolCacheDir).llamaCppClone(ref)`. */
  toolCacheDir: string
  /**
   * The `cache-toolchain` input: restore a clone's missing build folder through the Actions cache
   * and save it after a build. Never for a `llama-cpp-dir` checkout (the user's, not the action's).
   */
  cacheToolchain?: boolean
}

/** The fixed CMake options of every build; part of a cached build's key. */
export const BUILD_FLAGS: readonly string[] = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_SERVER=OFF',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DGGML_NATIVE=OFF'
]

export const BUILD_GROUP =
  'Building llama.cpp (llama-quantize, llama-completion, llama-gguf-split, llama-perplexity, llama-tokenize)'

/** The llama.cpp binaries a checkout's `build/bin` already holds (null when missing). */
export async function findBinaries(dir: string): Promise<{
  quantize: string | null
  generator: string | null
  split: string | null
  perplexity: string | null
  tokenize: string | null
}> {
  const bin = path.join(dir, 'build', 'bin')
  const exe = process.platform === 'win32' ? '.exe' : ''
  const find = async (name: string): Promise<string | null> => {
    for (const p of [path.join(bin, name + exe), path.join(bin, 'Release', name + exe)]) {
      if (await exists(p)) return p
    }
    return null
  }
  return {
    quantize: await find('llama-quantize'),
    generator: (await find('llama-completion')) ?? (await find('llama-cli')),
    split: await find('llama-gguf-split'),
    perplexity: await find('llama-perplexity'),
    tokenize: await find('llama-tokenize')
  }
}

/** LLAMA_VERSION_MAJOR.MINOR.PATCH from the checkout's CMakeLists.txt, or `unknown`. */
export async function readLlamaCppVersion(dir: string): Promise<string> {
  const text = await fs.readFile(path.join(dir, 'CMakeLists.txt'), 'utf8').catch(() => null)
  if (text === null) return 'unknown'
  const part = (p: string): string | undefined =>
    new RegExp(`set\\s*\\(\\s*LLAMA_VERSION_${p}\\s+(\\d+)\\s*\\)`).exec(text)?.[1]
  const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')]
  return major !== undefined && minor !== undefined && patch !== undefined
    ? `${major}.${minor}.${patch}`
    : 'unknown'
}

export async function gitCommit(dir: string): Promise<string> {
  if (!(await exists(path.join(dir, '.git')))) return 'unknown'
  const out = await probe('git', ['-C', dir, 'rev-parse', 'HEAD'])
  return out.code === 0 && /^[0-9a-f]{40}$/.test(out.stdout) ? out.stdout : 'unknown'
}

async function isSourceTree(dir: string): Promise<boolean> {
  return (
    (await exists(path.join(dir, 'convert_hf_to_gguf.py'))) &&
    (await exists(path.join(dir, 'CMakeLists.txt')))
  )
}

/** What git prints when the host cannot be reached at all (no network, DNS, proxy, firewall). */
const UNREACHABLE =
  /Could not resolve host|unable to access|Failed to connect|Connection (timed out|refused)|Network is unreachable|Could not resolve proxy|Temporary failure in name resolution/i

/**
 * Shallow-clones `ref` of `repoUrl` into `<toolCacheDir>/mlx-fuse-action/llama.cpp/<ref>` and returns that
 * directory; a complete earlier clone there is reused as is.
 */
export async function cloneLlamaCpp(
  ref: string,
  repoUrl: string,
  toolCacheDir: string
): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(ref) || ref.includes('..')) {
    throw new ActionError({
      problem: `Input llama-cpp-ref is "${ref}", which is not a valid tag or branch name`,
      fix: `use a llama.cpp tag such as v0.4.0`
    })
  }
  const target = toolPaths(toolCacheDir).llamaCppClone(ref)
  if (await isSourceTree(target)) {
    log.info(`Reusing the llama.cpp ${ref} checkout in ${target}`)
    return target
  }
  await clearForOutput(target)
  const git = await io.which('git', false)
  if (!git) {
    throw new ActionError({
      problem: 'git is not on PATH, so llama.cpp cannot be cloned',
      fix: 'install git or set llama-cpp-dir to a llama.cpp checkout'
    })
  }
  await runStep({
    title: `Cloning llama.cpp ${ref}`,
    tool: 'git clone',
    bin: git,
    args: ['clone', '--depth', '1', '--branch', ref, repoUrl, target],
    cleanup: [target],
    hint: 'check that llama-cpp-ref names an existing tag or branch',
    failure: result => {
      const output = result.tail.last()
      return UNREACHABLE.test(output)
        ? {
            problem: `git clone of llama.cpp ${ref} failed because ${repoUrl} could not be reached (last output: ${output})`,
            fix: `give the runner network access, or set llama-cpp-dir to a local llama.cpp checkout (made beforehand with \`git clone --depth 1 --branch ${ref} ${repoUrl}\`)`
          }
        : {
            problem: `git clone of llama.cpp ${ref} from ${repoUrl} failed with exit code ${result.code} (last output: ${output})`,
            fix: `check that llama-cpp-ref names an existing tag or branch`
          }
    }
  })
  if (!(await isSourceTree(target))) {
    throw new ActionError({
      problem: `The llama.cpp ${ref} clone in ${target} has no convert_hf_to_gguf.py or CMakeLists.txt`,
      fix: `set llama-cpp-ref to a llama.cpp release tag`
    })
  }
  return target
}

/** True when the checkout has a tool's source (tools/ or the older examples/ layout). */
async function hasToolSource(dir: string, name: string): Promise<boolean> {
  for (const d of ['tools', 'examples']) if (await exists(path.join(dir, d, name))) return true
  return false
}

const hasSplitTool = (dir: string): Promise<boolean> => hasToolSource(dir, 'gguf-split')

/** The optional targets this checkout has the source of: gguf-split, perplexity, tokenize. */
async function optionalTargets(dir: string): Promise<string[]> {
  const targets: string[] = []
  for (const [source, target] of [
    ['gguf-split', 'llama-gguf-split'],
    ['perplexity', 'llama-perplexity'],
    ['tokenize', 'llama-tokenize']
  ])
    if (await hasToolSource(dir, source)) targets.push(target)
  return targets
}

/**
 * Builds llama-quantize, the generator, llama-gguf-split, llama-perplexity and llama-tokenize with CMake (Release, static, GGML_NATIVE off so the
 * binaries run on any runner of the same OS and arch). Older checkouts kept the tools under
 * examples/ and had llama-cli instead of llama-completion; the targets follow the tree.
 */
export async function buildLlamaCpp(dir: string): Promise<void> {
  const cmake = await io.which('cmake', false)
  if (!cmake) {
    throw new ActionError({
      problem: 'cmake is not on PATH, so llama.cpp cannot be built',
      fix: 'install cmake or set llama-cpp-dir to a built llama.cpp checkout'
    })
  }
  const toolsLayout = await exists(path.join(dir, 'tools', 'quantize'))
  const generator = (await exists(path.join(dir, 'tools', 'completion')))
    ? 'llama-completion'
    : 'llama-cli'
  const optional = await optionalTargets(dir)
  const configure = [
    '-S',
    dir,
    '-B',
    path.join(dir, 'build'),
    `-DLLAMA_BUILD_EXAMPLES=${toolsLayout ? 'OFF' : 'ON'}`,
    ...BUILD_FLAGS
  ]
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length))
  const build = [
    '--build',
    path.join(dir, 'build'),
    '--config',
    'Release',
    '--target',
    'llama-quantize',
    generator,
    ...optional,
    '-j',
    jobs
  ]
  await core.group(BUILD_GROUP, async () => {
    for (const args of [configure, build]) {
      await runStep({
        tool: 'cmake',
        bin: cmake,
        args,
        hint: 'install a C/C++ toolchain or set llama-cpp-dir to a built checkout',
        failure: result => ({
          problem: `Building llama.cpp in ${dir} failed: cmake ${args[0]} exited with code ${result.code} (last output: ${result.tail.last()})`,
          fix: `install a C/C++ toolchain or set llama-cpp-dir to a built checkout`
        })
      })
    }
  })
}

/** The build folder of a clone as a cached toolchain part, or null when the cache is unavailable. */
async function cachedBuildPart(dir: string, lines: string[]): Promise<ToolchainPart | null> {
  const unavailable = await toolCacheUnavailable()
  if (unavailable !== null) {
    core.notice(`The llama.cpp build is not cached: ${unavailable}.`)
    lines.push(`not cached (${unavailable})`)
    return null
  }
  return {
    label: 'llama.cpp build',
    kind: 'llama-cpp',
    dir: path.join(dir, 'build'),
    // The targets too: a build from before a tool was added lacks it.
    inputs: {
      commit: await gitCommit(dir),
      options: BUILD_FLAGS.join(' '),
      targets: (await optionalTargets(dir)).join(' ')
    },
    check: async () => {
      const found = await findBinaries(dir)
      if (found.quantize === null || found.generator === null) {
        return 'it lacks llama-quantize or the generator'
      }
      const help = await probe(found.quantize, ['--help'])
      return parseQuantizeHelp(help.out).names.length > 0
        ? null
        : `llama-quantize --help lists no quantization types (exit code ${help.code})`
    }
  }
}

/** Restores a missing build; true when it is there and passed its check. */
async function restoreBuild(part: ToolchainPart, lines: string[]): Promise<boolean> {
  const result = await restoreToolchain(part)
  const took = `${(result.ms / 1000).toFixed(1)} s`
  if (result.status === 'restored') {
    log.info(`llama.cpp build: restored from the Actions cache in ${took}`)
    lines.push(`restored from the Actions cache in ${took}`)
    return true
  }
  if (result.status === 'fault' || result.status === 'rejected') {
    core.notice(`The cached llama.cpp build was not used (${result.why}); it is built again.`)
    lines.push(`the cached copy was not used (${result.why})`)
  } else {
    lines.push(`not in the Actions cache (${took})`)
  }
  return false
}

/**
 * Gets a usable llama.cpp: the `llama-cpp-dir` checkout, or a shallow clone of `ref`; builds
 * llama-quantize and the generator only when `build/bin` lacks them; reads the version, the
 * commit and the quantization types that checkout supports.
 */
export async function setupLlamaCpp(opts: SetupOptions): Promise<LlamaCpp> {
  let dir: string
  let cloned = false
  if (opts.dir !== undefined && opts.dir.trim() !== '') {
    dir = path.resolve(opts.dir.trim())
    if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) {
      throw new ActionError({
        problem: `Input llama-cpp-dir is "${dir}", which is not a directory`,
        fix: `set it to a llama.cpp source checkout or leave it empty`
      })
    }
    if (!(await isSourceTree(dir))) {
      throw new ActionError({
        problem: `Input llama-cpp-dir is "${dir}", which has no convert_hf_to_gguf.py and CMakeLists.txt`,
        fix: `set it to the root of a llama.cpp source checkout`
      })
    }
  } else {
    dir = await cloneLlamaCpp(opts.ref, opts.repoUrl, opts.toolCacheDir)
    cloned = true
  }

  let found = await findBinaries(dir)
  const lines: string[] = [] // the summary's line, with cache-toolchain
  // A cached build from before a tool was added lacks it: build again (cmake builds incrementally).
  const optionalMissing =
    (found.split === null && (await hasSplitTool(dir))) ||
    (found.perplexity === null && (await hasToolSource(dir, 'perplexity'))) ||
    (found.tokenize === null && (await hasToolSource(dir, 'tokenize')))
  if (found.quantize === null || found.generator === null || optionalMissing) {
    const part =
      opts.cacheToolchain === true && cloned && !(await exists(path.join(dir, 'build')))
        ? await cachedBuildPart(dir, lines)
        : null
    if (part === null || !(await restoreBuild(part, lines))) {
      const start = Date.now()
      await buildLlamaCpp(dir)
      found = await findBinaries(dir)
      const built = `built in ${((Date.now() - start) / 1000).toFixed(1)} s`
      log.info(`llama.cpp build: ${built}`)
      lines.push(built)
      if (part !== null && found.quantize !== null && found.generator !== null) {
        const why = await saveToolchain(part)
        if (why !== null)
          core.notice(`The llama.cpp build was not saved to the Actions cache: ${why}.`)
        lines.push(why === null ? 'saved to the Actions cache' : `not saved (${why})`)
      }
    }
    found = await findBinaries(dir)
  } else {
    log.info(`llama.cpp in ${dir} is already built: ${found.quantize}, ${found.generator}`)
    lines.push('reused (already on the runner)')
  }
  if (found.quantize === null || found.generator === null) {
    throw new ActionError({
      problem: `The llama.cpp build in ${dir} produced no ${found.quantize === null ? 'llama-quantize' : 'llama-completion or llama-cli'} in build/bin`,
      fix: `set llama-cpp-dir to a checkout that builds, or leave it empty`
    })
  }

  const help = await probe(found.quantize, ['--help'])
  if (help.code === -1) {
    throw new ActionError({
      problem: `Could not run ${found.quantize} (${help.out})`,
      fix: `rebuild llama.cpp by deleting ${path.join(dir, 'build')}`
    })
  }
  const types = parseQuantizeHelp(help.out)
  if (types.names.length === 0) {
    throw new ActionError({
      problem: `${found.quantize} --help lists no quantization types (exit code ${help.code})`,
      fix: `the binary is broken, delete ${path.join(dir, 'build')} so it is rebuilt`
    })
  }
  return {
    dir,
    version: await readLlamaCppVersion(dir),
    commit: await gitCommit(dir),
    quantize: found.quantize,
    generator: found.generator,
    split: found.split,
    perplexity: found.perplexity,
    tokenize: found.tokenize,
    convertScript: path.join(dir, 'convert_hf_to_gguf.py'),
    types,
    ...(opts.cacheToolchain === true ? { toolchain: `llama.cpp build: ${lines.join('; ')}` } : {})
  }
}
