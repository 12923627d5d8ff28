/**
 * One 1 GB incompressible file uploaded as a zipped artifact by the real `@actions/artifact`
 * client to the loopback fake results service, at compression level 0 (what the MLX artifact
 * uses: weights do not compress) and at the client's default level 6. The fake keeps block sizes
 * only, so the figure is the client's zip + hash + HTTP cost on this machine.
 */
import { DefaultArtifactClient } from '@actions/artifact'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatSize } from '../src/core/size.js'
import { startResultsService } from '../test/fixtures/results-service.js'
import { BENCH_FILE_BYTES, ratio, writeRandomFile } from './checksum.js'

/** Runs `task` with stdout swallowed: the client logs one line per 8 MiB block. */
async function quietly<T>(task: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = (() => true) as typeof process.stdout.write
  try {
    return await task()
  } finally {
    process.stdout.write = write
  }
}

export async function benchUpload(): Promise<void> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'bench-upload-'))
  const service = await startResultsService({ discardBlobs: true })
  const saved = { ...process.env }
  Object.assign(process.env, service.env)
  try {
    const file = join(dir, 'random.bin')
    await writeRandomFile(file, BENCH_FILE_BYTES)
    const client = new DefaultArtifactClient()
    const upload = async (level: number): Promise<{ ms: number; bytes: number }> => {
      const start = performance.now()
      const result = await quietly(() =>
        client.uploadArtifact(`bench-level-${level}`, [file], dir, { compressionLevel: level })
      )
      return { ms: performance.now() - start, bytes: result.size ?? 0 }
    }
    const stored = await upload(0)
    const deflated = await upload(6)
    console.log(
      `upload: one ${formatSize(BENCH_FILE_BYTES)} random file, zipped, to the loopback fake`
    )
    for (const [name, r] of [
      ['level 0 (stored)', stored],
      ['level 6 (default)', deflated]
    ] as const) {
      console.log(
        `  ${name.padEnd(18)} ${r.ms.toFixed(0).padStart(6)} ms  ${(r.bytes / r.ms / 1e3).toFixed(0)} MB/s  ${r.bytes.toLocaleString('en-US')} bytes sent`
      )
    }
    console.log(
      `  best of 1 run; level 0 / level 6 = ${ratio(stored.ms, deflated.ms)}; level 6 sent ` +
        `${(deflated.bytes - stored.bytes).toLocaleString('en-US')} bytes more than level 0 ` +
        `(level 0 adds ${(stored.bytes - BENCH_FILE_BYTES).toLocaleString('en-US')} bytes of zip headers to the file)`
    )
    const sizes = service.artifacts.map(a => a.blobBytes)
    if (sizes[0] !== stored.bytes || sizes[1] !== deflated.bytes) {
      throw new Error(
        `upload bench: the fake received ${sizes.join(', ')} bytes, the client reported ${stored.bytes}, ${deflated.bytes}.`
      )
    }
  } finally {
    process.env = saved
    await service.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
}
