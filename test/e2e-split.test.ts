/**
 * gguf-split through the whole run (run() in-process: fixtures/in-process.ts) with the real
 * llama-gguf-split: shards within the limit, named as llama.cpp names them, each verified, the
 * first loaded by llama.cpp, and their merge holding exactly the tensors of the unsplit file.
 * Replaced: mlx_lm and convert_hf_to_gguf.py (stand-ins), as everywhere.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readGgufHeader } from '../src/gguf/verify.js'
import { runInProcess } from './fixtures/in-process.js'
import { realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import { startResultsService } from './fixtures/results-service.js'
import {
  FIXTURES_DIR,
  makeAdapters,
  makeStandInPython,
  makeTinyModel,
  run as runCommand
} from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

const LLAMA_CPP_DIR = realLlamaCpp().dir // $LLAMA_CPP_DIR or the global set-up's build
const CONVERT_PYTHON = path.join(FIXTURES_DIR, 'llama-stand-in', 'python')
const SPLIT = path.join(LLAMA_CPP_DIR, 'build', 'bin', 'llama-gguf-split')

let root: string
let bf16Base: string
let wideBase: string
let adapters: string
let wideAdapters: string
let python: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-split-')))
  ;[bf16Base, wideBase] = await Promise.all([
    makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' }),
    // Its MLP tensors take 256 x 2048 x 2 = 1,048,576 bytes in F16: more than 1 MB.
    makeTinyModel(path.join(root, 'base-wide'), { dtype: 'bf16', intermediate: 2048 })
  ])
  ;[adapters, wideAdapters, python] = await Promise.all([
    makeAdapters(path.join(root, 'adapters'), bf16Base),
    makeAdapters(path.join(root, 'adapters-wide'), wideBase),
    makeStandInPython(path.join(root, 'py'))
  ])
})

const inputs = (base: string, adapterPath: string, extra: Record<string, string>) => ({
  'base-model': base,
  'adapter-path': adapterPath,
  python,
  'llama-cpp-dir': LLAMA_CPP_DIR,
  'convert-python': CONVERT_PYTHON,
  ...extra
})

/** Every tensor of a GGUF file: name, ggml type, shape and the SHA-256 of its data. */
async function tensors(files: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const file of files) {
    const h = await readGgufHeader(file)
    const data = await fs.readFile(file)
    const sorted = [...h.tensors].sort((a, b) => a.offset - b.offset)
    sorted.forEach((t, i) => {
      const start = h.tensorDataOffset + t.offset
      const end = i + 1 < sorted.length ? h.tensorDataOffset + sorted[i + 1].offset : data.length
      // Padding between tensors is zeros; compare the data up to the next tensor, zeros trimmed.
      let stop = end
      while (stop > start && data[stop - 1] === 0) stop--
      const digest = createHash('sha256').update(data.subarray(start, stop)).digest('hex')
      out.set(t.name, `${t.dtype} [${t.shape.join(',')}] ${digest}`)
    })
  }
  return out
}

describe('gguf-split', () => {
  it('splits the ~3 MB F16 into shards of at most 2 MB that llama.cpp loads and merges back', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const whole = await fs.mkdtemp(path.join(root, 'whole-'))
    const service = await startResultsService()
    // In-process runs take turns (one process, one environment): the split run, then the whole.
    const run = await runInProcess(
      inputs(bf16Base, adapters, {
        gguf: 'F16 Q8_0',
        'gguf-split': '2MB',
        'size-budget': '5MB',
        upload: 'true'
      }),
      { cwd: dir, env: service.env }
    )
    const reference = await runInProcess(
      inputs(bf16Base, adapters, { gguf: 'F16', 'smoke-test': 'false' }),
      { cwd: whole }
    )
    await service.close()
    expect(run.code).toBe(0)
    expect(reference.code).toBe(0)
    const ggufDir = path.join(dir, 'fused-model-gguf')
    const names = (await fs.readdir(ggufDir)).sort()
    const shardNames = names.filter(n => n.startsWith('fused-model-F16-'))
    expect(shardNames.length).toBeGreaterThanOrEqual(2)
    expect(shardNames).toEqual(
      shardNames.map(
        (_, i) =>
          `fused-model-F16-${String(i + 1).padStart(5, '0')}-of-${String(shardNames.length).padStart(5, '0')}.gguf`
      )
    )
    // Q8_0 (about 1.6 MB) is under the limit: one file, not split.
    // Each type has one Modelfile, a split one loading its first shard.
    expect(names).toEqual([
      ...shardNames,
      'fused-model-F16.Modelfile',
      'fused-model-Q8_0.Modelfile',
      'fused-model-Q8_0.gguf'
    ])
    const f16Modelfile = await fs.readFile(path.join(ggufDir, 'fused-model-F16.Modelfile'), 'utf8')
    expect(f16Modelfile.split('\n')[0]).toBe(`FROM ./${shardNames[0]}`)

    const shards = shardNames.map(n => path.join(ggufDir, n))
    let total = 0
    for (const [i, shard] of shards.entries()) {
      const bytes = (await fs.lstat(shard)).size
      expect(bytes).toBeLessThanOrEqual(2_000_000)
      total += bytes
      const h = await readGgufHeader(shard)
      expect(h.metadata['split.no']).toBe(i)
      expect(h.metadata['split.count']).toBe(shards.length)
    }
    // Outputs, manifest and budget treat the split type as one output of the shards' total.
    expect(JSON.parse(run.outputs.sizes).F16).toBe(total)
    expect(JSON.parse(run.outputs['gguf-paths']).F16).toBe(shards[0])
    const manifest = await readValidManifest(run.outputs.manifest)
    const f16 = manifest.outputs.find((o: { name: string }) => o.name === 'F16')
    expect(f16).toMatchObject({ bytes: total, files: shards.length, status: 'within' })
    expect(f16.shards.map((s: { path: string }) => s.path)).toEqual(shards)
    for (const s of f16.shards as Array<{ path: string; bytes: number; sha256: string }>) {
      const data = await fs.readFile(s.path)
      expect(s).toEqual({
        path: s.path,
        bytes: data.length,
        sha256: createHash('sha256').update(data).digest('hex')
      })
    }
    const split = manifest.commands.find((c: { what: string }) => c.what === 'Split F16')
    expect(split.argv.slice(0, 4)).toEqual([SPLIT, '--split', '--split-max-size', '1M'])
    // The smoke test loaded the first shard, as llama.cpp loads a split model.
    expect(run.stdout).toMatch(
      /F16: llama\.cpp loaded fused-model-F16-00001-of-0000\d\.gguf and generated ([1-9]\d* )?tokens in \d+ ms/
    )
    expect(run.summary).toContain(`split into ${shards.length} shards`)

    // Each shard is its own raw artifact, byte for byte, and SHA256SUMS lists every shard.
    expect(service.artifacts.map(a => a.name)).toEqual([
      'fused-model-mlx',
      ...shardNames,
      'fused-model-Q8_0.gguf',
      'fused-model-checksums'
    ])
    for (const [i, shard] of shards.entries()) {
      expect(service.artifacts[1 + i].blob!.equals(await fs.readFile(shard))).toBe(true)
    }
    const checksums = service.artifacts.at(-1)!.blob!
    const sums = path.join(root, 'sums')
    await fs.writeFile(`${sums}.zip`, checksums)
    await runCommand('unzip', ['-q', `${sums}.zip`, '-d', sums])
    const lines = await fs.readFile(path.join(sums, 'SHA256SUMS'), 'utf8')
    for (const s of f16.shards as Array<{ path: string; sha256: string }>) {
      expect(lines).toContain(`${s.sha256}  ${path.basename(s.path)}\n`)
    }

    // llama-gguf-split --merge gives back exactly the unsplit file's tensors.
    const merged = path.join(root, 'merged.gguf')
    await runCommand(SPLIT, ['--merge', shards[0], merged])
    const unsplit = path.join(whole, 'fused-model-gguf', 'fused-model-F16.gguf')
    const [fromMerge, fromWhole] = await Promise.all([tensors([merged]), tensors([unsplit])])
    expect(fromMerge.size).toBeGreaterThan(10)
    expect(fromMerge).toEqual(fromWhole)
    expect(await tensors(shards)).toEqual(fromWhole)
  })

  it('names the tensor that alone is larger than a shard can hold', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runInProcess(
      inputs(wideBase, wideAdapters, { gguf: 'F16', 'gguf-split': '2MB', 'smoke-test': 'false' }),
      { cwd: dir }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(
      /::error::Cannot split fused-model-F16\.gguf under gguf-split 2\.00 MB \(1\.91 MiB\): its tensor blk\.\d+\.ffn_(up|gate|down)\.weight \(F16\) alone takes 1\.05 MB \(1\.00 MiB\), more than the 1MB of tensor data a shard can hold, and llama-gguf-split never splits a tensor; raise gguf-split to at least 2\.0\d MB/
    )
    // Nothing half-made is left in gguf-dir.
    expect(await fs.readdir(dir)).not.toContain('fused-model-gguf')
  })

  it('refuses a limit that can never work before any fuse, and gguf-split without gguf', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const tooSmall = await runInProcess(
      inputs(bf16Base, adapters, { gguf: 'F16', 'gguf-split': '600kB' }),
      { cwd: dir }
    )
    expect(tooSmall.code).toBe(1)
    expect(tooSmall.stdout).toMatch(
      /::error::Input gguf-split is 600\.00 kB \(585\.94 KiB\), but a shard holds at least 1 MB of tensor data/
    )
    const noGguf = await runInProcess(inputs(bf16Base, adapters, { 'gguf-split': '1900MB' }), {
      cwd: dir
    })
    expect(noGguf.stdout).toMatch(/::error::Input gguf-split is set but gguf is empty/)
    expect(await fs.readdir(dir)).toEqual([])
  })
})
