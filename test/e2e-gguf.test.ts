/**
 * The whole run with GGUF outputs, run() in-process (fixtures/in-process.ts). Replaced: mlx_lm and
 * convert_hf_to_gguf.py (stand-ins). Real: the llama.cpp build, llama-quantize, llama-completion,
 * header checks, sizes. The free-disk cases pretend a smaller disk through the machine run() is
 * given (fixtures/in-process.ts freeBytes).
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runInProcess } from './fixtures/in-process.js'
import { MAKE_IMATRIX, realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import {
  FIXTURES_DIR,
  makeAdapters,
  makeStandInPython,
  makeTinyModel,
  readStandInLog,
  run as runCommand,
  SYSTEM_PYTHON
} from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

const LLAMA_CPP_DIR = realLlamaCpp().dir
const CONVERT_PYTHON = path.join(FIXTURES_DIR, 'llama-stand-in', 'python')

let root: string
let q4Base: string
let bf16Base: string
let adapters: string
let python: string

/** An importance matrix for a model with other dimensions than the tiny test model. */
async function mismatchedImatrix(dir: string): Promise<string> {
  const small = await makeTinyModel(path.join(dir, 'small'), { hidden: 128, intermediate: 256 })
  const gguf = path.join(dir, 'small.gguf')
  await runCommand(CONVERT_PYTHON, [
    path.join(LLAMA_CPP_DIR, 'convert_hf_to_gguf.py'),
    small,
    '--outfile',
    gguf,
    '--outtype',
    'bf16'
  ])
  const imatrix = path.join(dir, 'small.imatrix')
  await runCommand(SYSTEM_PYTHON, [MAKE_IMATRIX, LLAMA_CPP_DIR, gguf, imatrix])
  return imatrix
}

/**
 * A llama.cpp checkout that links to the real one, except that its llama-quantize is a wrapper
 * that logs its argv and every file under `watch` (path -> bytes) when it starts, then runs the
 * real binary.
 */
async function watchedLlamaCpp(dir: string, watch: string): Promise<{ dir: string; log: string }> {
  await fs.mkdir(path.join(dir, 'build', 'bin'), { recursive: true })
  for (const name of await fs.readdir(LLAMA_CPP_DIR)) {
    if (name !== 'build') await fs.symlink(path.join(LLAMA_CPP_DIR, name), path.join(dir, name))
  }
  const realBin = path.join(LLAMA_CPP_DIR, 'build', 'bin')
  for (const name of await fs.readdir(realBin)) {
    if (name !== 'llama-quantize')
      await fs.symlink(path.join(realBin, name), path.join(dir, 'build', 'bin', name))
  }
  const log = `${dir}.log`
  const wrapper = `#!${process.execPath}
const fs = require('node:fs')
const path = require('node:path')
const files = {}
const walk = d => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name)
    if (e.isDirectory()) walk(p)
    else files[path.relative(${JSON.stringify(watch)}, p)] = fs.lstatSync(p).size
  }
}
walk(${JSON.stringify(watch)})
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), files }) + '\\n')
const r = require('node:child_process').spawnSync(${JSON.stringify(path.join(realBin, 'llama-quantize'))}, process.argv.slice(2), { stdio: 'inherit' })
process.exit(r.status ?? 1)
`
  await fs.writeFile(path.join(dir, 'build', 'bin', 'llama-quantize'), wrapper, { mode: 0o755 })
  return { dir, log }
}

async function readLog(file: string): Promise<Array<{ argv: string[] }>> {
  const text = await fs.readFile(file, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l))
}

async function setup(): Promise<{
  dir: string
  env: Record<string, string>
  mlxLog: string
  convertLog: string
}> {
  const dir = await fs.mkdtemp(path.join(root, 'work-'))
  const mlxLog = path.join(root, `${path.basename(dir)}-mlx.log`)
  const convertLog = path.join(root, `${path.basename(dir)}-convert.log`)
  return {
    dir,
    mlxLog,
    convertLog,
    env: { MLX_STANDIN_LOG: mlxLog, CONVERT_STANDIN_LOG: convertLog }
  }
}

const common = (): Record<string, string> => ({
  'adapter-path': adapters,
  python,
  'llama-cpp-dir': LLAMA_CPP_DIR,
  'convert-python': CONVERT_PYTHON
})

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-gguf-')))
  ;[q4Base, bf16Base] = await Promise.all([
    makeTinyModel(path.join(root, 'base-q4'), { bits: 4 }),
    makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' })
  ])
  adapters = await makeAdapters(path.join(root, 'adapters'), bf16Base)
  python = await makeStandInPython(path.join(root, 'py'))
})

describe('the action, end to end (GGUF outputs)', () => {
  it('makes Q4_K_M, Q8_0 and F16 from one conversion of a de-quantized fuse', async () => {
    const { dir, env, mlxLog, convertLog } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': q4Base,
        gguf: 'q4_k_m Q8_0, F16',
        'size-budget': 'mlx=5MB\ngguf=4MB'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    // One conversion; the quantized MLX output stays 4-bit, so a second, de-quantized fuse feeds it.
    const conversions = await readLog(convertLog)
    expect(conversions).toHaveLength(1)
    const fuses = (await readStandInLog(mlxLog)).filter(c => c.command === 'fuse')
    expect(fuses.map(f => f.args.includes('--dequantize'))).toEqual([false, true])
    const ggufDir = path.join(dir, 'fused-model-gguf')
    // Each GGUF file with its Ollama Modelfile beside it.
    expect((await fs.readdir(ggufDir)).sort()).toEqual([
      'fused-model-F16.Modelfile',
      'fused-model-F16.gguf',
      'fused-model-Q4_K_M.Modelfile',
      'fused-model-Q4_K_M.gguf',
      'fused-model-Q8_0.Modelfile',
      'fused-model-Q8_0.gguf'
    ])
    const paths = JSON.parse(run.outputs['gguf-paths'])
    const bytes = JSON.parse(run.outputs['gguf-bytes'])
    const sizes = JSON.parse(run.outputs.sizes)
    const manifest = await readValidManifest(run.outputs.manifest)
    for (const type of ['Q4_K_M', 'Q8_0', 'F16']) {
      const file = path.join(ggufDir, `fused-model-${type}.gguf`)
      const size = (await fs.lstat(file)).size
      expect(paths[type]).toBe(file)
      expect(bytes[type]).toBe(size)
      expect(sizes[type]).toBe(size)
      const entry = manifest.outputs.find((o: { name: string }) => o.name === type)
      expect(entry).toMatchObject({
        kind: 'gguf',
        bytes: size,
        status: 'within',
        budgetBytes: 4_000_000
      })
      expect(entry.sha256).toBe(
        createHash('sha256')
          .update(await fs.readFile(file))
          .digest('hex')
      )
      expect(run.summary).toContain(`<code>${type}</code>`)
    }
    // The manifest records the command lines that really ran.
    const convert = manifest.commands.find((c: { what: string }) => c.what === 'Convert')
    expect(convert.argv).toEqual([CONVERT_PYTHON, ...conversions[0].argv])
    expect(
      manifest.commands
        .filter((c: { what: string }) => c.what.startsWith('Quantize'))
        .map((c: { argv: string[] }) => c.argv.at(-1))
    ).toEqual(['Q4_K_M', 'Q8_0', 'F16'])
    expect(bytes.Q4_K_M).toBeLessThan(bytes.Q8_0)
    expect(bytes.Q8_0).toBeLessThan(bytes.F16)
    expect(run.summary).toContain('The GGUF files are re-quantized from 4-bit weights')
    // Each type was smoke-tested: llama.cpp loaded the file and generated (its exit code 0; the
    // token count when its logger flushed the timing line, see src/gguf/smoke.ts).
    for (const type of ['Q4_K_M', 'Q8_0', 'F16']) {
      expect(run.stdout).toMatch(
        new RegExp(
          `${type}: llama\\.cpp loaded fused-model-${type}\\.gguf and generated ([1-9]\\d* )?tokens in \\d+ ms`
        )
      )
    }
    // Intermediates are gone: only the outputs and the manifest are left.
    expect((await fs.readdir(dir)).sort()).toEqual([
      'fused-model',
      'fused-model-gguf',
      'fused-model.manifest.json'
    ])
  })

  it('writes a single Q8_0 directly with convert, without llama-quantize', async () => {
    const { dir, env, convertLog } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': bf16Base,
        gguf: 'Q8_0',
        'smoke-test': 'false',
        'size-budget': 'gguf=3MB, Q5_K_M=1MB'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    // A budget for a type this run does not make is a warning, not an error.
    expect(run.annotations).toContainEqual(
      expect.stringMatching(
        /^::warning[^:]*::size-budget entry "Q5_K_M=1MB" names a GGUF type this run does not produce/
      )
    )
    const calls = await readLog(convertLog)
    expect(calls).toHaveLength(1)
    expect(calls[0].argv).toContain('q8_0')
    expect(run.stdout).not.toMatch(/Quantizing .* to Q8_0/)
    // The full-precision MLX output is converted as it is: no second fuse.
    expect(calls[0].argv).toContain(path.join(dir, 'fused-model'))
    expect(JSON.parse(run.outputs['gguf-bytes']).Q8_0).toBe(
      (await fs.lstat(path.join(dir, 'fused-model-gguf', 'fused-model-Q8_0.gguf'))).size
    )
  })

  it('removes the de-quantized fuse once converted, before the first llama-quantize, and reports the peak', async () => {
    const { dir, env } = await setup()
    const llama = await watchedLlamaCpp(path.join(root, `${path.basename(dir)}-llama`), dir)
    const run = await runInProcess(
      {
        ...common(),
        'llama-cpp-dir': llama.dir,
        'base-model': q4Base,
        gguf: 'Q4_K_M, Q8_0',
        'smoke-test': 'false'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    const starts = (await readLog(llama.log)) as unknown as Array<{
      argv: string[]
      files: Record<string, number>
    }>
    const quantizes = starts.filter(
      s => !s.argv.includes('--help') && !s.argv.includes('--dry-run')
    )
    expect(quantizes.map(s => s.argv.at(-1))).toEqual(['Q4_K_M', 'Q8_0'])
    const first = Object.keys(quantizes[0].files)
    // The only model folder left is the MLX output; the work folder holds just the 16-bit GGUF.
    expect(first.filter(f => path.basename(f) === 'config.json')).toEqual([
      'fused-model/config.json'
    ])
    expect(first.filter(f => f.endsWith('.gguf'))).toEqual([
      expect.stringMatching(/^\.fused-model-gguf\.work-[0-9a-f]+\/fused-model-BF16\.gguf$/)
    ])
    expect(first.some(f => f.includes('fused-full-precision'))).toBe(false)
    // The peak is measured: at least what was on disk when llama-quantize started.
    const manifest = await readValidManifest(run.outputs.manifest)
    const sum = (files: Record<string, number>): number =>
      Object.entries(files)
        .filter(([f]) => !f.endsWith('.json') || f.includes('/'))
        .reduce((n, [, b]) => n + b, 0)
    const atStart = Math.max(...quantizes.map(q => sum(q.files)))
    expect(manifest.peakDiskBytes).toBeGreaterThanOrEqual(atStart)
    const outputs = Object.values(JSON.parse(run.outputs.sizes) as Record<string, number>)
    expect(manifest.peakDiskBytes).toBeGreaterThan(outputs.reduce((a, b) => a + b, 0))
    expect(run.summary).toMatch(/Peak disk use: [\d.]+ MB/)
  })

  it('keeps the de-quantized fuse and the 16-bit GGUF with keep-intermediates', async () => {
    const { dir, env } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': q4Base,
        gguf: 'Q4_K_M',
        'smoke-test': 'false',
        'keep-intermediates': 'true'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    const kept = path.join(dir, 'fused-model-gguf.intermediates')
    expect((await fs.readdir(kept)).sort()).toEqual([
      'fused-full-precision',
      'fused-model-BF16.gguf'
    ])
    expect((await fs.readdir(path.join(dir, 'fused-model-gguf'))).sort()).toEqual([
      'fused-model-Q4_K_M.Modelfile',
      'fused-model-Q4_K_M.gguf'
    ])
    expect(run.summary).toContain('Intermediates kept in')
  })

  it('gguf: auto picks the best type that fits the budget, stepping down the ladder', async () => {
    const { dir, env } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': bf16Base,
        gguf: 'auto',
        'size-budget': 'gguf=1.2MB',
        'smoke-test': 'false'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    const manifest = await readValidManifest(run.outputs.manifest)
    const auto = manifest.gguf.auto
    const chosen = auto.candidates.find((c: { type: string }) => c.type === auto.type)
    // Every better type was predicted over the budget; the chosen one fits, measured.
    const better = auto.candidates.slice(0, auto.candidates.indexOf(chosen))
    expect(better.length).toBeGreaterThan(0)
    for (const c of better) expect(c.predictedBytes).toBeGreaterThan(1_200_000)
    expect(chosen.measuredBytes).toBeLessThanOrEqual(1_200_000)
    expect(chosen.measuredBytes).toBe(JSON.parse(run.outputs.sizes)[auto.type])
    expect(chosen.method).toBe('dry-run')
    expect(chosen.predictedBytes).toBe(chosen.measuredBytes)
    expect(run.summary).toContain(`chose <code>${auto.type}</code>`)
  })

  it.each([
    [{ gguf: 'Q4_K_N' }, /'Q4_K_N'.*did you mean Q4_K_M\?/],
    [{ gguf: 'IQ2_XS' }, /IQ2_XS needs an importance matrix: set the imatrix input/]
  ])('refuses %j before any fuse', async (inputs, message) => {
    const { dir, env, mlxLog } = await setup()
    const run = await runInProcess(
      { ...common(), 'base-model': bf16Base, ...inputs },
      { cwd: dir, env }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(message)
    expect((await readStandInLog(mlxLog)).filter(c => c.command === 'fuse')).toEqual([])
    expect(await fs.readdir(dir)).toEqual([])
  })

  it('catches a truncated GGUF and does not report it', async () => {
    const { dir, env } = await setup()
    const run = await runInProcess(
      { ...common(), 'base-model': bf16Base, gguf: 'Q8_0' },
      { cwd: dir, env: { ...env, CONVERT_STANDIN_TRUNCATE_BYTES: '1000' } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::.*fused-model-Q8_0\.gguf/)
    expect(run.outputs['gguf-paths']).toBeUndefined()
    expect(await fs.readdir(dir)).not.toContain('fused-model-gguf')
  })

  it('fails when llama-quantize fails mid-way, leaving no GGUF', async () => {
    const { dir, env } = await setup()
    // An importance matrix made for a smaller model: --dry-run accepts it, the real quantize
    // opens its output, then stops on the first tensor whose size does not match.
    const imatrix = await mismatchedImatrix(path.join(root, `${path.basename(dir)}-imatrix`))
    const run = await runInProcess(
      { ...common(), 'base-model': bf16Base, gguf: 'Q4_K_M', imatrix },
      { cwd: dir, env }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::llama-quantize failed with exit code 1 making Q4_K_M/)
    expect(run.outputs['gguf-paths']).toBeUndefined()
    expect((await fs.readdir(dir)).filter(n => n.includes('gguf'))).toEqual([])
  })

  it.each([
    // Room for the 4-bit fuse (~0.85 MB) but not for the run's peak: the 16-bit fuse the GGUF
    // path needs (~3 MB) beside its 16-bit GGUF: refused before the first fuse.
    ['q4', 2000000, 'the fused model and its GGUF conversion', '2.00 MB \\(1.91 MiB\\)'],
    // No room for the 16-bit fuse of a bf16 base (~3 MB) at all.
    ['bf16', 1000000, 'the fused model and its GGUF conversion', '1.00 MB \\(976.56 KiB\\)']
  ])(
    'refuses before a %s fuse when the disk is too small, with both figures',
    async (base, free, what, shown) => {
      const { dir, env, mlxLog } = await setup()
      const run = await runInProcess(
        { ...common(), 'base-model': base === 'q4' ? q4Base : bf16Base, gguf: 'Q4_K_M' },
        { cwd: dir, env, freeBytes: free }
      )
      expect(run.code).toBe(1)
      const refusal = new RegExp(
        `Not enough disk space for ${what}: it needs about ([\\d.]+ MB \\([\\d.]+ MiB\\)) but .* has ${shown} free`
      ).exec(run.stdout)
      expect(refusal).not.toBeNull()
      // The doctor's first log group stated the same need, for the same thing, and the same disk.
      const doctor = /! Disk: (.*) free at .*; the run needs about (.*) for (.*)/.exec(run.stdout)
      expect(doctor?.slice(1)).toEqual([shown.replaceAll('\\', ''), refusal![1], what])
      const fuses = (await readStandInLog(mlxLog)).filter(c => c.command === 'fuse')
      expect(fuses).toHaveLength(0)
      expect((await fs.readdir(dir)).filter(n => n.includes('gguf'))).toEqual([])
    }
  )

  it('converts the kept 16-bit fuse when quantize-bits re-quantized the MLX output', async () => {
    const { dir, env, mlxLog, convertLog } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': bf16Base,
        'quantize-bits': '4',
        gguf: 'Q4_K_M',
        'smoke-test': 'false'
      },
      { cwd: dir, env }
    )
    expect(run.code).toBe(0)
    const mlxCalls = await readStandInLog(mlxLog)
    expect(mlxCalls.map(c => c.command).filter(c => c !== 'help')).toEqual(['fuse', 'convert'])
    // The GGUF is converted from the first (16-bit) fuse, the folder mlx_lm convert read.
    const convertIn = mlxCalls.find(c => c.command === 'convert')!.args[2]
    expect((await readLog(convertLog))[0].argv[1]).toBe(convertIn)
    expect(JSON.parse(run.outputs.sizes)).toEqual({
      mlx: expect.any(Number),
      Q4_K_M: (await fs.lstat(path.join(dir, 'fused-model-gguf', 'fused-model-Q4_K_M.gguf'))).size
    })
    expect((await fs.readdir(dir)).sort()).toEqual([
      'fused-model',
      'fused-model-gguf',
      'fused-model.manifest.json'
    ])
  })

  it('gates gguf: Q4_K with a Q4_K budget: the Q4_K_M file fails it (issue 6)', async () => {
    // Before: the budget target stayed "Q4_K", matched no output, was "ignored" with a warning,
    // and a file hundreds of times over budget passed with within-budget=true and exit 0.
    const { dir, env } = await setup()
    const run = await runInProcess(
      {
        ...common(),
        'base-model': bf16Base,
        gguf: 'q4_k',
        'size-budget': 'Q4_K=1kB',
        'smoke-test': 'false'
      },
      { cwd: dir, env }
    )
    const file = path.join(dir, 'fused-model-gguf', 'fused-model-Q4_K_M.gguf')
    const bytes = (await fs.lstat(file)).size
    expect(bytes).toBeGreaterThan(1000)
    expect(run.code).toBe(1)
    expect(run.outputs['within-budget']).toBe('false')
    expect(run.stdout).not.toContain('does not produce; it is ignored')
    expect(run.annotations).toContainEqual(
      expect.stringMatching(
        /^::error title=Size budget exceeded::Q4_K_M: .* is over its budget of 1\.00 kB .*size-budget entry "Q4_K=1kB"/
      )
    )
  })
})
