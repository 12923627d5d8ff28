/**
 * gguf-adapter's base GGUF, kept in the tool cache by the base's revision: the base is converted
 * (and de-quantized) once per Hub repository, commit and llama.cpp commit (whose converter wrote
 * it), then a later run on the same runner links it in. Entries are hard links: caching copies no
 * bytes, and a runner whose cache sits on another file system simply does not cache. A local base
 * has no revision to key on, so it is never cached; nor on a GitHub-hosted runner
 * (`RUNNER_ENVIRONMENT=github-hosted`), whose tool cache ends with the job: there the link would
 * only keep the bytes on disk after remove-after-upload.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { toolCacheRoot, toolPaths } from '../core/config.js'

export interface BaseGgufCache {
  /** The folder of this base revision and llama.cpp commit. */
  dir: string
  /** The cached file (`BF16.gguf`, `F16.gguf` or `F32.gguf`) and its type, or null on a miss. */
  hit: { file: string; type: string } | null
}

export async function baseGgufCache(
  base: { repo: string; commit: string } | null,
  llamaCommit: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<BaseGgufCache | null> {
  if (base === null || env.RUNNER_ENVIRONMENT === 'github-hosted') return null
  const dir = path.join(
    toolPaths(toolCacheRoot(env)).actionDir,
    'base-gguf',
    base.repo.replace('/', '--'),
    base.commit,
    llamaCommit
  )
  for (const type of ['BF16', 'F16', 'F32']) {
    const file = path.join(dir, `${type}.gguf`)
    if ((await fs.stat(file).catch(() => null))?.isFile()) return { dir, hit: { file, type } }
  }
  return { dir, hit: null }
}
