/**
 * Bench of the quality step against eval-tokens: for 512 to 4096 tokens (chunks of 512), the
 * reference (base + adapters evaluated once by python/quality_reference.py and written in
 * llama-perplexity's format) and one MLX output's scoring against it, timed, with the reference
 * file's size. The figures say how the step grows (it should be linear in the chunks: every
 * chunk is one forward pass per model); no target is asserted.
 *
 * Needs what `npm test` makes once: the mlx-lm 0.32.2 environment of locks/ and the tiny real
 * llama with its LoRA adapters in the cache folder's models/.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { evalChunking, readEvalData } from '../src/quality/data.js'
import { makeReference, scoreMlx } from '../src/quality/reference.js'
import { formatSize } from '../src/core/size.js'
import { packageRoot } from './gguf-header.js'
import { BenchRefused } from './refuse.js'

const TOKENS = [512, 1024, 2048, 4096]
const CONTEXT = 512

interface QualityBenchTools {
  python: string
  base: string
  adapters: string
  data: string
}

/** The newest `<cache>/models/<hash>/<name>` that is fully made (holds `.made.json`). */
function madeModel(cache: string, name: string): string | null {
  const models = join(cache, 'models')
  if (!existsSync(models)) return null
  const found = readdirSync(models)
    .map(hash => join(models, hash, name))
    .filter(dir => existsSync(join(dir, '.made.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  return found[0] ?? null
}

async function qualityBenchTools(): Promise<QualityBenchTools> {
  const root = packageRoot()
  const setup = (await import(pathToFileURL(join(root, 'test', 'global-setup.js')).href)) as {
    readyTestEnvs: () => Record<string, string> | null
  }
  const machine = (await import(
    pathToFileURL(join(root, 'test', 'fixtures', 'machine.js')).href
  )) as typeof import('../test/fixtures/machine.js')
  const cache = machine.cacheFolder()
  const python = setup.readyTestEnvs()?.MLX_FUSE_TEST_MLX_PYTHON
  const base = madeModel(cache, 'llama-bf16')
  const adapters = madeModel(cache, 'llama-bf16-lora')
  if (!python || !base || !adapters) {
    throw new BenchRefused(
      `The quality bench needs the mlx-lm environment and the tiny real llama with its LoRA adapters in ${cache}: run \`npm test\` once (its set-up and the real-tool tests make them).`
    )
  }
  return { python, base, adapters, data: join(root, 'test', 'fixtures', 'real-model', 'data') }
}

export async function benchQuality(): Promise<void> {
  const tools = await qualityBenchTools()
  const work = await mkdtemp(join(tmpdir(), 'bench-quality-'))
  try {
    // The committed training text, repeated until it holds more than the most tokens asked.
    const lines = (await readFile(join(tools.data, 'train.jsonl'), 'utf8')).trim().split('\n')
    const file = join(work, 'eval.jsonl')
    await writeFile(
      file,
      `${Array.from({ length: 12 }, () => lines)
        .flat()
        .join('\n')}\n`
    )
    const data = await readEvalData(file)
    console.log(
      `quality step against eval-tokens (tiny real llama, vocabulary 50259, chunks of ${CONTEXT}):`
    )
    console.log('eval-tokens  scored  reference s  MLX scoring s  reference file  ms/scored token')
    for (const evalTokens of TOKENS) {
      const chunking = evalChunking({ evalTokens, context: CONTEXT })
      const dir = join(work, String(evalTokens))
      await mkdir(dir)
      const t0 = performance.now()
      const ref = await makeReference({
        python: tools.python,
        model: tools.base,
        adapterPath: tools.adapters,
        documents: data.documents,
        chunking,
        workDir: dir,
        out: join(dir, 'reference.kld')
      })
      const t1 = performance.now()
      await scoreMlx({ python: tools.python, model: tools.base, reference: ref.file })
      const t2 = performance.now()
      const ms = (t2 - t0) / ref.scored
      console.log(
        [
          String(evalTokens).padStart(11),
          String(ref.scored).padStart(7),
          ((t1 - t0) / 1000).toFixed(1).padStart(12),
          ((t2 - t1) / 1000).toFixed(1).padStart(14),
          formatSize(Number(ref.bytes)).padStart(15),
          ms.toFixed(1).padStart(16)
        ].join('  ')
      )
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
