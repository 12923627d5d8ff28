/**
 * The machine check in-process, against what this machine really has: python3, the mlx_lm
 * stand-in (two versions, two flag spellings), the built llama.cpp checkout (LLAMA_CPP_DIR), a
 * tiny model for the pre-flight estimate. Nothing external is mocked; a missing tool is a line.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { formatDoctor, runDoctor, type DoctorCheck, type DoctorOptions } from '../src/doctor.js'
import {
  CONVERT_REQUIREMENTS,
  convertEnvSpec,
  filteredRequirements
} from '../src/gguf/convert-env.js'
import { envDir, envKey, READY_MARKER } from '../src/core/venv.js'
import { freeBytes } from '../src/core/disk.js'
import { readModelConfig } from '../src/mlx/model-config.js'
import { estimateFullPrecisionBytes } from '../src/mlx/precision.js'
import { inspectWeights } from '../src/mlx/weights.js'
import { fuseNeeds, startReadingBase, type NeedsInputs } from '../src/plan/needs.js'
import { formatSize } from '../src/core/size.js'
import { realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import { makeStandInPython, makeTinyModel } from './fixtures/tiny.js'

// $LLAMA_CPP_DIR or the cache folder's build, which jest's global set-up makes; else one sentence.
const LLAMA_CPP_DIR = realLlamaCpp().dir
let root: string
let python: string
let python0283: string
let q4: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'doctor-')))
  ;[python, python0283, q4] = await Promise.all([
    makeStandInPython(path.join(root, 'py'), '0.32.2'),
    makeStandInPython(path.join(root, 'py-0.28.3'), '0.28.3'),
    makeTinyModel(path.join(root, 'q4'), { bits: 4, groupSize: 64 })
  ])
})

function options(over: Partial<DoctorOptions> = {}): DoctorOptions {
  return {
    python,
    mlxLmVersion: '0.32.2',
    convertPython: null,
    llamaCppDir: LLAMA_CPP_DIR,
    llamaCppRef: 'v0.4.0',
    toolCacheDir: path.join(root, 'tool-cache'),
    outputDir: path.join(root, 'out'),
    base: null,
    machine: { freeBytes, totalMemory: os.totalmem() },
    ...over
  }
}

/** The base at `dir` as a run hands it to the doctor: being read for the plan. */
function base(dir: string, inputs: Partial<NeedsInputs> = {}): DoctorOptions['base'] {
  const all = { dequantize: false, quantizeBits: null, gguf: false, ...inputs }
  return { dir, reading: startReadingBase(dir, all) }
}

function check(checks: DoctorCheck[], name: string): DoctorCheck {
  const found = checks.find(c => c.name === name)
  if (!found) throw new Error(`no ${name} check in ${JSON.stringify(checks)}`)
  return found
}

describe('npm run doctor', () => {
  it("reports the machine, mlx-lm's version and flag, and the built llama.cpp", async () => {
    const checks = await runDoctor(options())
    expect(check(checks, 'Machine').detail).toContain(os.release())
    expect(check(checks, 'Machine').detail).toContain(os.cpus()[0].model)
    const py = check(checks, 'Python for mlx-lm')
    const version = execFileSync(python, [
      '-c',
      'import sys; print("%d.%d.%d" % sys.version_info[:3])'
    ])
      .toString()
      .trim()
    expect(py).toEqual({
      name: 'Python for mlx-lm',
      status: 'ok',
      detail: `${python}, Python ${version}`
    })
    expect(check(checks, 'mlx-lm')).toMatchObject({ status: 'ok' })
    expect(check(checks, 'mlx-lm').detail).toMatch(
      /^0\.32\.2 \(python -m mlx_lm fuse\); de-quantize flag --dequantize;/
    )
    const commit = execFileSync('git', ['-C', LLAMA_CPP_DIR, 'rev-parse', 'HEAD']).toString().trim()
    expect(check(checks, 'llama.cpp')).toEqual({
      name: 'llama.cpp',
      status: 'ok',
      detail: `${LLAMA_CPP_DIR}, version 0.4.0, commit ${commit.slice(0, 12)}; build cached (${path.join(LLAMA_CPP_DIR, 'build', 'bin')})`
    })
    // No pre-flight estimate without a base model: disk and memory are just reported.
    expect(check(checks, 'Disk').status).toBe('info')
    expect(check(checks, 'Memory').detail).toContain(formatSize(os.totalmem()))
    // The conversion Pythons found on PATH, with versions (python3 is always there).
    expect(check(checks, 'Python for conversion').detail).toMatch(
      /found .*python3[.\d]* 3\.\d+\.\d+/
    )
    expect(formatDoctor(checks).every(l => /^[✓✗!·] [^:]+: /.test(l))).toBe(true)
  })

  it('reads the old de-quantize spelling from mlx-lm 0.28.3', async () => {
    const checks = await runDoctor(options({ python: python0283 }))
    expect(check(checks, 'mlx-lm').detail).toMatch(/^0\.28\.3 .*de-quantize flag --de-quantize;/)
  })

  it('compares free disk and memory with the pre-flight estimate of the configured run', async () => {
    const stats = await inspectWeights(q4, await readModelConfig(q4))
    const needs = fuseNeeds(stats, true, 4)
    expect(needs.diskBytes).toBe(2 * needs.fusedBytes)
    expect(needs.fusedBytes).toBeGreaterThan(stats.tensorBytes) // de-quantized: larger
    const dequantized = { dequantize: true, quantizeBits: 4 }
    const roomy = await runDoctor(options({ base: base(q4, dequantized) }))
    expect(check(roomy, 'Disk')).toMatchObject({ status: 'ok' })
    expect(check(roomy, 'Disk').detail).toContain(
      `the run needs about ${formatSize(needs.diskBytes)} for the fused model`
    )
    expect(check(roomy, 'Memory').detail).toContain(formatSize(needs.memoryBytes))
    // A disk one byte too small, pretended through the machine the doctor is given.
    const small = { freeBytes: async () => needs.diskBytes - 1, totalMemory: os.totalmem() }
    const short = await runDoctor(options({ base: base(q4, dequantized), machine: small }))
    expect(check(short, 'Disk')).toMatchObject({
      status: 'short',
      detail: expect.stringContaining(`${formatSize(needs.diskBytes - 1)} free at`)
    })
    // Kept quantized, the fuse needs about the base's tensors only.
    const kept = await runDoctor(options({ base: base(q4) }))
    expect(check(kept, 'Disk').detail).toContain(`needs about ${formatSize(stats.tensorBytes)}`)
  })

  it("shows the de-quantized fuse's memory against the machine's, short when it will not fit", async () => {
    const stats = await inspectWeights(q4, await readModelConfig(q4))
    // The GGUF path fuses a quantized base again, de-quantized: the whole 16-bit model in memory.
    const needs = fuseNeeds(stats, false, null, true)
    expect(needs.memoryBytes).toBe(2 * estimateFullPrecisionBytes(stats))
    expect(needs.memoryWhat).toBe('the de-quantized fuse')
    const opts = { base: base(q4, { gguf: true }), skipConvert: false }
    const memory = (totalMemory: number) => ({ machine: { freeBytes, totalMemory } })
    const roomy = await runDoctor(options({ ...opts, ...memory(needs.memoryBytes) }))
    expect(check(roomy, 'Memory')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(
        `; the de-quantized fuse holds about ${formatSize(needs.memoryBytes)} in memory`
      )
    })
    const short = await runDoctor(options({ ...opts, ...memory(needs.memoryBytes - 1) }))
    expect(check(short, 'Memory').status).toBe('short')
    // Kept quantized and without gguf, the fuse holds about the base's tensors.
    const kept = await runDoctor(options({ base: base(q4), ...memory(stats.tensorBytes) }))
    expect(check(kept, 'Memory')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(`the fuse holds about ${formatSize(stats.tensorBytes)}`)
    })
  })

  it('reports missing tools instead of failing', async () => {
    const checks = await runDoctor(
      options({
        python: path.join(root, 'no-such-python'),
        convertPython: path.join(root, 'no-such-convert-python'),
        llamaCppDir: path.join(root, 'no-llama'),
        base: base(path.join(root, 'no-model'))
      })
    )
    expect(check(checks, 'Python for mlx-lm')).toMatchObject({ status: 'missing' })
    expect(check(checks, 'Python for mlx-lm').detail).toContain('does not run (input python)')
    expect(check(checks, 'Python for conversion')).toMatchObject({ status: 'missing' })
    expect(check(checks, 'llama.cpp').detail).toContain('is not a llama.cpp checkout')
    expect(check(checks, 'Pre-flight estimate')).toMatchObject({
      status: 'missing',
      detail: expect.stringContaining(`cannot read ${path.join(root, 'no-model')}: `)
    })
  })

  it('says when python3 has no mlx_lm and no environment is cached, without creating one', async () => {
    const checks = await runDoctor(options({ python: null }))
    const mlx = check(checks, 'mlx-lm')
    expect(mlx.status).toBe('missing')
    expect(mlx.detail).toContain(
      `a run creates one under ${path.join(root, 'tool-cache', 'mlx-fuse-action', 'python-envs')}`
    )
    expect(await fs.stat(path.join(root, 'tool-cache')).catch(() => null)).toBeNull()
  })

  it('finds an unbuilt checkout, a cached convert environment and the convert-python input', async () => {
    const bare = path.join(root, 'llama-bare')
    await fs.mkdir(bare, { recursive: true })
    await fs.writeFile(path.join(bare, 'convert_hf_to_gguf.py'), '')
    await fs.writeFile(path.join(bare, 'CMakeLists.txt'), 'set(LLAMA_VERSION_MAJOR 0)\n')
    const unbuilt = await runDoctor(options({ llamaCppDir: bare }))
    expect(check(unbuilt, 'llama.cpp').detail).toContain('build not cached')

    const commit = execFileSync('git', ['-C', LLAMA_CPP_DIR, 'rev-parse', 'HEAD']).toString().trim()
    const version = execFileSync('python3', [
      '-c',
      'import sys; print("%d.%d.%d" % sys.version_info[:3])'
    ])
      .toString()
      .trim()
    // A ready environment as src/core/venv.ts leaves it: bin/python and the marker with its key.
    const spec = convertEnvSpec({
      base: 'python3',
      commit,
      requirements: await filteredRequirements(path.join(LLAMA_CPP_DIR, CONVERT_REQUIREMENTS)),
      toolCache: path.join(root, 'tool-cache-2')
    })
    const env = envDir(spec, version)
    await fs.mkdir(path.join(env, 'bin'), { recursive: true })
    await fs.symlink(
      execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim(),
      path.join(env, 'bin', 'python')
    )
    await fs.writeFile(path.join(env, READY_MARKER), `${envKey(spec, version)}\n`)
    const cached = await runDoctor(options({ toolCacheDir: path.join(root, 'tool-cache-2') }))
    expect(check(cached, 'Python for conversion')).toMatchObject({ status: 'ok' })
    expect(check(cached, 'Python for conversion').detail).toContain(`cached environment ${env}`)

    const input = await runDoctor(options({ convertPython: '/usr/bin/python3' }))
    expect(check(input, 'Python for conversion').detail).toMatch(
      /^\/usr\/bin\/python3 \(input convert-python\), Python 3\.\d+\.\d+$/
    )
  })
})
