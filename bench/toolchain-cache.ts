/**
 * A warm start of the llama.cpp toolchain from the Actions cache (input `cache-toolchain`): the
 * real build folder of the checkout `npm test` builds, saved through the real `@actions/cache`
 * into the loopback fake of the cache service, removed, then restored and checked
 * (`llama-quantize --help`) as a new runner would. Shown beside the cold build recorded in the
 * README (the CI run's llama.cpp build). The fake serves from memory on loopback, so the figure
 * is the client's archive and extraction time, not a network's.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { probe } from '../src/core/run.js'
import { formatSize } from '../src/core/size.js'
import { restoreToolchain, saveToolchain } from '../src/core/tool-cache.js'
import { startCacheService } from '../test/fixtures/cache-service.js'
import type { GgufBenchTools } from './gguf-header.js'
import { ggufBenchTools } from './gguf-header.js'

/** The cold llama.cpp build of the CI run the README records (7 min 9 s). */
const RECORDED_COLD_BUILD_S = 7 * 60 + 9

export async function benchToolchainCache(tools: GgufBenchTools | null): Promise<void> {
  const { llama } = tools ?? (await ggufBenchTools())
  const work = await mkdtemp(join(tmpdir(), 'bench-toolchain-'))
  const service = await startCacheService()
  const saved = { ...process.env }
  const startDir = process.cwd()
  try {
    Object.assign(process.env, service.env, { GITHUB_WORKSPACE: work })
    process.chdir(work)
    const dir = join(work, 'llama.cpp', 'build')
    await cp(join(llama, 'build'), dir, { recursive: true, verbatimSymlinks: true })
    const part = {
      label: 'llama.cpp build',
      kind: 'llama-cpp',
      dir,
      inputs: { commit: 'bench', options: 'bench' },
      check: async (d: string): Promise<string | null> => {
        const help = await probe(join(d, 'bin', 'llama-quantize'), ['--help'])
        return help.out.includes('Q4_K_M') ? null : `llama-quantize --help failed (${help.code})`
      }
    }
    const why = await saveToolchain(part)
    if (why !== null) throw new Error(`Toolchain-cache bench: the save failed: ${why}`)
    const bytes = service.entries.find(e => e.finalized)?.blob?.length ?? 0
    await rm(dir, { recursive: true })
    const result = await restoreToolchain(part)
    if (result.status !== 'restored') {
      throw new Error(`Toolchain-cache bench: the restore gave ${JSON.stringify(result)}`)
    }
    const warm = result.ms / 1000
    console.log(
      `toolchain-cache: warm start (restore + check) ${warm.toFixed(2)} s for a ${formatSize(bytes)} archive; ` +
        `recorded cold llama.cpp build ${RECORDED_COLD_BUILD_S} s (${(RECORDED_COLD_BUILD_S / warm).toFixed(0)}x)`
    )
  } finally {
    process.chdir(startDir)
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
    await service.close()
    await rm(work, { recursive: true, force: true })
  }
}
