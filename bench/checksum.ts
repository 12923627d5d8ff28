/**
 * Bench of sha256File against `openssl dgst -sha256` (the same OpenSSL the Node binary links, so
 * the practical limit) and GNU `sha256sum`, on one 1 GB file of random bytes, warm in the page
 * cache. A plain read stream with 1 MiB chunks is shown too, as the baseline it replaced.
 */
import { execFile } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sha256File } from '../src/core/checksum.js'
import { formatSize } from '../src/core/size.js'

const run = promisify(execFile)

export const BENCH_FILE_BYTES = 1_000_000_000
const RUNS = 3

/** Writes `bytes` of random data (incompressible) to a new file. */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w')
  try {
    const chunk = Buffer.allocUnsafe(16 * 1024 * 1024)
    for (let written = 0; written < bytes;) {
      const n = Math.min(chunk.length, bytes - written)
      randomFillSync(chunk, 0, n)
      await handle.write(chunk, 0, n)
      written += n
    }
  } finally {
    await handle.close()
  }
}

async function best(task: () => Promise<string>): Promise<{ ms: number; hex: string }> {
  let hex = await task()
  let ms = Infinity
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    hex = await task()
    ms = Math.min(ms, performance.now() - start)
  }
  return { ms, hex }
}

async function plainStream(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** `0.93x (faster)` / `1.21x (slower)`: our time over theirs, in words. */
export function ratio(ours: number, theirs: number): string {
  const r = ours / theirs
  return `${r.toFixed(2)}x (${r <= 1 ? 'faster' : 'slower'})`
}

export async function benchChecksum(): Promise<void> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'bench-sha256-'))
  const file = join(dir, 'random.bin')
  try {
    await writeRandomFile(file, BENCH_FILE_BYTES)
    const gbps = (ms: number): string => `${(BENCH_FILE_BYTES / ms / 1e6).toFixed(2)} GB/s`
    const ours = await best(async () => (await sha256File(file)).sha256)
    const stream = await best(() => plainStream(file))
    const openssl = await best(async () => {
      const { stdout } = await run('openssl', ['dgst', '-sha256', '-r', file])
      return stdout.split(' ')[0]
    })
    const gnu = await best(async () => (await run('sha256sum', [file])).stdout.split(' ')[0])
    console.log(`sha256File: one ${formatSize(BENCH_FILE_BYTES)} random file, warm page cache`)
    const line = (name: string, r: { ms: number }): void =>
      console.log(`  ${name.padEnd(26)} ${r.ms.toFixed(0).padStart(6)} ms  ${gbps(r.ms)}`)
    line('sha256File', ours)
    line('read stream, 1 MiB chunks', stream)
    line('openssl dgst -sha256', openssl)
    line('sha256sum', gnu)
    console.log(
      `  best of ${RUNS} warm runs; sha256File / openssl = ${ratio(ours.ms, openssl.ms)}, ` +
        `/ sha256sum = ${ratio(ours.ms, gnu.ms)}, / 1 MiB stream = ${ratio(ours.ms, stream.ms)}`
    )
    const agree = [stream.hex, openssl.hex, gnu.hex].every(h => h === ours.hex)
    console.log(`  digests ${agree ? 'agree' : 'DISAGREE'}`)
    if (!agree) {
      throw new Error(
        `sha256 bench: digests disagree: ours ${ours.hex}, stream ${stream.hex}, openssl ${openssl.hex}, sha256sum ${gnu.hex}.`
      )
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
