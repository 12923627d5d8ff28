/**
 * `npm run doctor` and the first log group of every run: what this machine has for a fuse. OS
 * and chip, free disk and memory against the run's pre-flight estimate, the Pythons for mlx-lm
 * and for conversion with their versions, mlx-lm's version and flag spellings, the llama.cpp
 * checkout and whether its build is cached. Read-only, and it never fails: a missing tool is a
 * line of the report, not an error.
 */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { toolPaths } from './core/config.js'
import type { Machine } from './core/machine.js'
import {
  CONVERT_CANDIDATES,
  CONVERT_REQUIREMENTS,
  convertEnvSpec,
  filteredRequirements,
  findInterpreters,
  interpreterVersion
} from './gguf/convert-env.js'
import { findEnv } from './core/venv.js'
import { findBinaries, gitCommit, readLlamaCppVersion } from './gguf/toolchain.js'
import { mlxEnvSpec, mlxLmVersion, probeMlxEnv } from './mlx/python.js'
import type { BaseReading, RunNeeds } from './plan/needs.js'
import { lastLine, probe } from './core/run.js'
import * as log from './core/log.js'
import { formatSize } from './core/size.js'

/** One line of the report. `missing` and `short` mark what a run would stop on. */
export interface DoctorCheck {
  name: string
  status: 'ok' | 'missing' | 'short' | 'info'
  detail: string
}

export interface DoctorOptions {
  /** The python input (null: python3 on PATH, else the venv the action makes). */
  python: string | null
  mlxLmVersion: string
  /** The convert-python input. */
  convertPython: string | null
  /** A llama.cpp checkout (the llama-cpp-dir input), else the action's clone of `llamaCppRef`. */
  llamaCppDir: string | null
  llamaCppRef: string
  /** RUNNER_TOOL_CACHE, else ~/.cache: where the action keeps environments and clones. */
  toolCacheDir: string
  /** Where the outputs go: its disk is the one checked. */
  outputDir: string
  /**
   * A local base model being read for the plan (src/plan/needs.ts): the doctor states the needs
   * the plan refuses on; null when unknown or a repo id (not downloaded yet).
   */
  base: { readonly dir: string; readonly reading: Promise<BaseReading> } | null
  /** A run without gguf skips the search for a conversion Python (it probes every python3.x). */
  skipConvert?: boolean
  /** The free space and memory the doctor reports (the run's, injected by the tests). */
  machine: Machine
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  checks.push(await machine())
  const needs = await baseNeeds(opts, checks)
  checks.push(...(await resources(opts.outputDir, needs, opts.machine)))
  checks.push(...(await mlxPython(opts)))
  // The checkout looked at: llama-cpp-dir, else the action's clone of the ref (computed once).
  const llamaDir = opts.llamaCppDir ?? toolPaths(opts.toolCacheDir).llamaCppClone(opts.llamaCppRef)
  const llama = await llamaCpp(opts, llamaDir)
  checks.push(llama.check)
  if (opts.skipConvert) {
    checks.push({
      name: 'Python for conversion',
      status: 'info',
      detail: 'not needed: gguf is empty'
    })
  } else checks.push(...(await convertPython(opts, llamaDir, llama.commit)))
  return checks
}

/**
 * The checks inside a log group (collapsed on the runner), for the start of a run; never throws:
 * a failing check is a warning, and the run's own checks still decide.
 */
export async function logDoctor(opts: DoctorOptions): Promise<void> {
  await core.group('Checking this machine (the same as npm run doctor)', async () => {
    try {
      for (const line of formatDoctor(await runDoctor(opts))) log.info(line)
    } catch (error) {
      core.warning(`The machine check stopped early: ${(error as Error).message}`)
    }
  })
}

/** The report as log lines: `✓`/`✗`/`!`/`·` name: detail. */
export function formatDoctor(checks: DoctorCheck[]): string[] {
  const mark = { ok: '✓', missing: '✗', short: '!', info: '·' }
  return checks.map(c => `${mark[c.status]} ${c.name}: ${c.detail}`)
}

async function machine(): Promise<DoctorCheck> {
  if (process.platform === 'darwin') {
    const [version, build, chip] = await Promise.all([
      probe('sw_vers', ['-productVersion']),
      probe('sw_vers', ['-buildVersion']),
      probe('sysctl', ['-n', 'machdep.cpu.brand_string'])
    ])
    const macos =
      version.code === 0 ? `macOS ${version.out}` : `macOS (sw_vers: ${lastLine(version.out)})`
    const b = build.code === 0 ? ` (${build.out})` : ''
    const c = chip.code === 0 ? chip.out : (os.cpus()[0]?.model ?? 'unknown chip')
    return { name: 'Machine', status: 'info', detail: `${macos}${b}, ${c}, ${os.arch()}` }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return {
    name: 'Machine',
    status: 'info',
    detail: `${os.type()} ${os.release()}, ${cpu} x${os.cpus().length}, ${os.arch()} (MLX needs macOS on Apple Silicon; mlx_lm cannot fuse here)`
  }
}

async function baseNeeds(opts: DoctorOptions, checks: DoctorCheck[]): Promise<RunNeeds | null> {
  if (!opts.base) return null
  try {
    return (await opts.base.reading).needs
  } catch (error) {
    checks.push({
      name: 'Pre-flight estimate',
      status: 'missing',
      detail: `cannot read ${opts.base.dir}: ${(error as Error).message}`
    })
    return null
  }
}

async function resources(
  outputDir: string,
  needs: RunNeeds | null,
  machine: Machine
): Promise<DoctorCheck[]> {
  const total = machine.totalMemory
  const free = await machine.freeBytes(outputDir).catch(() => null)
  const disk: DoctorCheck =
    free === null
      ? { name: 'Disk', status: 'missing', detail: `cannot read the free space of ${outputDir}` }
      : {
          name: 'Disk',
          status: needs && needs.diskBytes > free ? 'short' : needs ? 'ok' : 'info',
          detail: `${formatSize(free)} free at ${outputDir}${needs ? `; the run needs about ${formatSize(needs.diskBytes)} for ${needs.diskWhat}` : ''}`
        }
  const available = os.freemem()
  const memory: DoctorCheck = {
    name: 'Memory',
    status: needs && needs.memoryBytes > total ? 'short' : needs ? 'ok' : 'info',
    detail: `${formatSize(total)} in all, ${formatSize(available)} free now${needs ? `; ${needs.memoryWhat} holds about ${formatSize(needs.memoryBytes)} in memory (mlx-lm 0.32 keeps the whole fused model until it is written)` : ''}`
  }
  return [disk, memory]
}

async function mlxPython(opts: DoctorOptions): Promise<DoctorCheck[]> {
  const python = opts.python ?? 'python3'
  const pyVersion = await interpreterVersion(python)
  if (!pyVersion) {
    return [
      {
        name: 'Python for mlx-lm',
        status: 'missing',
        detail: `${python} does not run${opts.python ? ' (input python)' : ''}: install Python 3.10+ (e.g. actions/setup-python) or set the python input`
      }
    ]
  }
  const pyCheck: DoctorCheck = {
    name: 'Python for mlx-lm',
    status: 'ok',
    detail: `${python}, Python ${pyVersion}`
  }
  let interpreter = python
  let version = await mlxLmVersion(python)
  if (!version && !opts.python) {
    const spec = mlxEnvSpec(opts.mlxLmVersion, python, opts.toolCacheDir)
    const ready = await findEnv(spec).catch(() => null)
    version = ready ? await mlxLmVersion(ready.python) : null
    if (ready && version) {
      interpreter = ready.python
      pyCheck.detail += `; mlx-lm comes from the cached environment ${ready.dir}`
    } else {
      return [
        pyCheck,
        {
          name: 'mlx-lm',
          status: 'missing',
          detail: `${python} cannot import mlx_lm and no environment is cached; a run creates one under ${spec.root} with pip install ${spec.steps.map(st => ('packages' in st ? st.packages.join(' ') : st.fileName)).join(' ')}`
        }
      ]
    }
  }
  if (!version) {
    return [
      pyCheck,
      { name: 'mlx-lm', status: 'missing', detail: `${python} cannot import mlx_lm` }
    ]
  }
  try {
    const source = opts.python ? 'input' : interpreter === python ? 'path' : 'venv'
    const env = await probeMlxEnv(interpreter, pyVersion, version, source)
    const entry = env.entry === 'subcommand' ? 'python -m mlx_lm fuse' : 'python -m mlx_lm.fuse'
    return [
      pyCheck,
      {
        name: 'mlx-lm',
        status: 'ok',
        detail: `${version} (${entry}); de-quantize flag ${env.dequantizeFlag ?? 'none'}; --trust-remote-code ${env.trustRemoteCodeFlag ? 'supported' : 'not supported'}`
      }
    ]
  } catch (error) {
    return [
      pyCheck,
      { name: 'mlx-lm', status: 'missing', detail: `${version}, but ${(error as Error).message}` }
    ]
  }
}

async function llamaCpp(
  opts: DoctorOptions,
  dir: string
): Promise<{ check: DoctorCheck; commit: string | null }> {
  const isTree = await fs
    .stat(path.join(dir, 'convert_hf_to_gguf.py'))
    .then(s => s.isFile())
    .catch(() => false)
  if (!isTree) {
    return {
      check: {
        name: 'llama.cpp',
        status: 'info',
        detail: opts.llamaCppDir
          ? `${dir} is not a llama.cpp checkout (no convert_hf_to_gguf.py); a GGUF run would stop`
          : `no checkout at ${dir}; a GGUF run clones ${opts.llamaCppRef} there and builds it (git, cmake and a C++ compiler needed)`
      },
      commit: null
    }
  }
  const commit = await gitCommit(dir)
  const bin = await findBinaries(dir)
  const built = bin.quantize && bin.generator
  return {
    check: {
      name: 'llama.cpp',
      status: 'ok',
      detail: `${dir}, version ${await readLlamaCppVersion(dir)}, commit ${commit.slice(0, 12)}; build ${built ? `cached (${path.dirname(bin.quantize!)})` : 'not cached: a GGUF run builds llama-quantize and llama-completion first'}`
    },
    commit: commit === 'unknown' ? null : commit
  }
}

async function convertPython(
  opts: DoctorOptions,
  llamaDir: string,
  commit: string | null
): Promise<DoctorCheck[]> {
  if (opts.convertPython) {
    const version = await interpreterVersion(opts.convertPython)
    return [
      {
        name: 'Python for conversion',
        status: version ? 'ok' : 'missing',
        detail: version
          ? `${opts.convertPython} (input convert-python), Python ${version}`
          : `${opts.convertPython} (input convert-python) does not run`
      }
    ]
  }
  const found = await findInterpreters(CONVERT_CANDIDATES)
  if (found.length === 0) {
    return [{ name: 'Python for conversion', status: 'missing', detail: 'no Python 3 on PATH' }]
  }
  const list = found.map(i => `${i.command} ${i.version}`).join(', ')
  const requirements = commit
    ? await filteredRequirements(path.join(llamaDir, CONVERT_REQUIREMENTS)).catch(() => null)
    : null
  for (const { command } of found) {
    if (!commit || requirements === null) break
    const spec = convertEnvSpec({
      base: command,
      commit,
      requirements,
      toolCache: opts.toolCacheDir
    })
    const ready = await findEnv(spec).catch(() => null)
    if (ready) {
      const dir = ready.dir
      return [
        {
          name: 'Python for conversion',
          status: 'ok',
          detail: `cached environment ${dir} (found ${list})`
        }
      ]
    }
  }
  return [
    {
      name: 'Python for conversion',
      status: 'info',
      detail: `found ${list}; a GGUF run makes its environment from the newest that pip can install llama.cpp's convert requirements with (numpy 1.26 has no wheels for Python 3.13+)`
    }
  ]
}
