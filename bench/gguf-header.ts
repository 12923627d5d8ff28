/**
 * Bench of verifyGguf's header-only read: a ~11 MB real GGUF (the tiny model at hidden 512,
 * converted to BF16 by the convert_hf_to_gguf.py stand-in with the checkout's gguf-py) against a
 * 2 GB sparse file with the same header bytes, its tensor table rescaled to describe 2 GB of
 * data (rows x 190, offsets recomputed in place, the header keeps its length) and the data
 * region left as a hole (ftruncate). verifyGguf must accept both and take the same time: it
 * reads the header and stats the file, it never reads the data.
 *
 * Needs a python3 on PATH with numpy and sentencepiece and a llama.cpp checkout ($LLAMA_CPP_DIR,
 * or the one npm test built in the cache folder).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { ggmlTypeById, padTo, tensorBytes } from '../src/gguf/ggml.js'
import { readGgufHeader, verifyGguf } from '../src/gguf/verify.js'
import { speedAgainst } from './measure.js'
import { BenchRefused, runBench } from './refuse.js'

const RUNS = 30
const TARGET_BYTES = 2 * 1024 ** 3

/** The package root (this file runs from bench/ or from .tools-build/bench/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'test', 'fixtures'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the package root from ' + import.meta.url)
    dir = up
  }
  return dir
}

/** What the real GGUF needs: the fixtures' python3 and a llama.cpp checkout's converter. */
export interface GgufBenchTools {
  root: string
  python: string
  llama: string
}

/** Finds the fixtures' python3 and llama.cpp, or refuses in one sentence that says how to get them. */
export async function ggufBenchTools(): Promise<GgufBenchTools> {
  const root = packageRoot()
  // plain JavaScript beside the tests, loaded from the source tree (it is not in .tools-build)
  const machine = (await import(
    pathToFileURL(join(root, 'test', 'fixtures', 'machine.js')).href
  )) as typeof import('../test/fixtures/machine.js')
  const llama = machine.findLlamaCpp()
  if (llama === null) {
    throw new BenchRefused(
      `npm run bench needs a built llama.cpp checkout: LLAMA_CPP_DIR is not set and ${machine.cacheFolder()} holds none; run \`npm test\` once (its set-up fetches and builds one there), or build a checkout with \`npm run prepare-llama -- <dir>\` and set LLAMA_CPP_DIR=<dir>.`
    )
  }
  if (!existsSync(join(llama, 'convert_hf_to_gguf.py'))) {
    throw new BenchRefused(
      `LLAMA_CPP_DIR is "${llama}", which has no convert_hf_to_gguf.py: set it to a llama.cpp checkout, or unset it to use the one \`npm test\` builds.`
    )
  }
  try {
    return { root, python: machine.testPython(), llama }
  } catch (error) {
    // testPython's message is one sentence that names the packages to install
    throw new BenchRefused((error as Error).message)
  }
}

async function realGguf(work: string, { root, python, llama }: GgufBenchTools): Promise<string> {
  const model = join(work, 'model')
  const file = join(work, 'real-bf16.gguf')
  execFileSync(python, [
    join(root, 'test', 'fixtures', 'make_tiny_model.py'),
    'model',
    model,
    '--hidden',
    '512',
    '--intermediate',
    '1024',
    '--heads',
    '8',
    '--kv-heads',
    '8'
  ])
  execFileSync(
    join(root, 'test', 'fixtures', 'llama-stand-in', 'python'),
    [join(llama, 'convert_hf_to_gguf.py'), model, '--outfile', file, '--outtype', 'bf16'],
    { stdio: 'ignore' }
  )
  return file
}

/**
 * Writes `out`: the header of `src` with every 2-D tensor's row count multiplied by `factor` and
 * the offsets recomputed, then extends the file to the size that header describes (a hole).
 */
async function sparseCopy(src: string, out: string, factor: number): Promise<number> {
  const h = await readGgufHeader(src)
  const header = Buffer.from((await readFile(src)).subarray(0, h.tensorDataOffset))
  let pos = h.tensorInfoStart
  let offset = 0
  for (let i = 0; i < h.tensors.length; i++) {
    const nameLen = Number(header.readBigUInt64LE(pos))
    pos += 8 + nameLen
    const nDims = header.readUInt32LE(pos)
    pos += 4
    const shape: number[] = []
    for (let d = 0; d < nDims; d++) {
      let dim = Number(header.readBigUInt64LE(pos + 8 * d))
      if (d === 1) {
        dim *= factor
        header.writeBigUInt64LE(BigInt(dim), pos + 8 * d)
      }
      shape.push(dim)
    }
    pos += 8 * nDims
    const type = ggmlTypeById(header.readUInt32LE(pos))
    pos += 4
    header.writeBigUInt64LE(BigInt(offset), pos)
    pos += 8
    if (!type) throw new Error('unknown tensor type')
    offset = padTo(offset + (tensorBytes(type, shape) ?? 0), h.alignment)
  }
  const total = h.tensorDataOffset + offset
  const fh = await open(out, 'w')
  try {
    await fh.write(header, 0, header.length, 0)
    await fh.truncate(total)
  } finally {
    await fh.close()
  }
  return total
}

interface Timing {
  first: number
  median: number
  min: number
}

/** Times verifyGguf on both files, alternating, so neither gets the warmer turn. */
async function timeBoth(files: string[], type: string): Promise<Timing[]> {
  const times: number[][] = files.map(() => [])
  for (let i = 0; i < RUNS; i++) {
    for (let f = 0; f < files.length; f++) {
      const t0 = process.hrtime.bigint()
      await verifyGguf(files[f], type)
      times[f].push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  }
  return times.map(t => {
    const sorted = [...t].sort((a, b) => a - b)
    return { first: t[0], median: sorted[Math.floor(RUNS / 2)], min: sorted[0] }
  })
}

export async function benchGgufHeader(tools?: GgufBenchTools): Promise<void> {
  const found = tools ?? (await ggufBenchTools())
  const work = await mkdtemp(join(tmpdir(), 'bench-gguf-'))
  try {
    const real = await realGguf(work, found)
    const realBytes = (await stat(real)).size
    const factor = Math.max(1, Math.round(TARGET_BYTES / realBytes))
    const sparse = join(work, 'sparse-2g.gguf')
    const sparseBytes = await sparseCopy(real, sparse, factor)
    const onDisk = (await stat(sparse)).blocks * 512

    const a = await verifyGguf(real, 'BF16')
    const b = await verifyGguf(sparse, 'BF16')
    if (b.bytes !== sparseBytes) throw new Error('the sparse file does not verify')
    const [ta, tb] = await timeBoth([real, sparse], 'BF16')
    const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`
    console.log(
      `verifyGguf header read, ${RUNS} runs each, alternating (ms: first / median / min):`
    )
    console.log(
      `  real GGUF    ${mb(a.bytes).padStart(9)}  ${a.tensorCount} tensors, ` +
        `${a.parameters.toLocaleString('en-US')} parameters: ` +
        `${ta.first.toFixed(2)} / ${ta.median.toFixed(2)} / ${ta.min.toFixed(2)}`
    )
    console.log(
      `  sparse GGUF  ${mb(b.bytes).padStart(9)}  (${mb(onDisk)} on disk, same header), ` +
        `${b.parameters.toLocaleString('en-US')} parameters: ` +
        `${tb.first.toFixed(2)} / ${tb.median.toFixed(2)} / ${tb.min.toFixed(2)}`
    )
    console.log(
      `  the sparse file is ${(b.bytes / a.bytes).toFixed(0)}x larger; its median check is ` +
        speedAgainst(tb.median, ta.median, 'the real one')
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(() => benchGgufHeader())
}
