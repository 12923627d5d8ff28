/**
 * run() with eval-data, in-process (test/fixtures/in-process.ts) with the real tools: the real
 * mlx-lm fuses a tiny real llama with real LoRA adapters, llama.cpp converts it and makes Q8_0 and
 * Q2_K, the action's helper (python/quality_reference.py, found from the action's root as the
 * run resolves it) evaluates base + adapters once, the MLX output is scored in MLX and each GGUF
 * by the real llama-perplexity. The figures reach the summary, the step outputs and the
 * schema-valid manifest; the reference is gone afterwards. A quality budget fails Q2_K, which the
 * size budget passes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type { ManifestV1 } from '../../src/report/index.js'
import { CONVERSION_KLD_THRESHOLD } from '../../src/quality/thresholds.js'
import type { ActionRun } from '../fixtures/action.js'
import { runInProcess } from '../fixtures/in-process.js'
import { readValidManifest } from '../fixtures/manifest.js'
import { DATA_DIR, convertPython, mlxPython, realAdapters, realModel } from '../fixtures/real.js'

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!
const EVAL_DATA = path.join(DATA_DIR, 'train.jsonl')

let work: string
let run: ActionRun
let manifest: ManifestV1

beforeAll(async () => {
  const base = await realModel('llama', 'bf16')
  const adapters = await realAdapters('llama', 'bf16', 'lora')
  work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-quality-')))
  run = await runInProcess(
    {
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      python: mlxPython(),
      'output-dir': 'fused-model',
      gguf: 'F16 Q8_0 Q2_K',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      'smoke-test': 'false',
      upload: 'false',
      'eval-data': EVAL_DATA,
      // one chunk of 512 (the tiny llama's context is 2048): the data holds about 800 tokens
      'eval-tokens': '512',
      // every type fits the size budget; Q2_K (measured about 0.01) fails the quality budget
      'size-budget': 'gguf=1GB',
      'quality-budget': 'Q2_K=kld:0.001, mlx=agreement:0.98',
      'on-over-budget': 'warn'
    },
    { cwd: work }
  )
  manifest = await readValidManifest<ManifestV1>(path.join(work, 'fused-model.manifest.json'))
}, 1_800_000)

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true })
})

describe('a run with eval-data (real mlx-lm, llama.cpp and llama-perplexity)', () => {
  it('judges the quality budget beside the size budget: Q2_K fits 1 GB but not kld:0.001', () => {
    const verdicts = manifest.outputs.map(o => [o.name, o.status, o.qualityStatus])
    expect(verdicts).toEqual([
      ['mlx', 'no-budget', 'within'],
      ['F16', 'within', 'no-budget'],
      ['Q8_0', 'within', 'no-budget'],
      ['Q2_K', 'within', 'over']
    ])
    const q2 = manifest.outputs.find(o => o.name === 'Q2_K')!
    expect(q2.qualityChecks).toEqual([
      {
        budget: 'Q2_K=kld:0.001',
        metric: 'kld',
        limit: 0.001,
        value: q2.quality!.meanKld,
        pass: false
      }
    ])
    expect(manifest.withinBudget).toBe(false)
    expect(run.outputs['within-budget']).toBe('false')
    // on-over-budget: warn, as for size: a warning annotation and a green step
    expect(run.annotations).toContainEqual(
      expect.stringMatching(
        /^::warning title=Quality budget exceeded::Q2_K: mean KL divergence \S+ is over its quality budget of 0\.00100 \(quality-budget entry "Q2_K=kld:0\.001"\)\.$/
      )
    )
    expect(run.summary).toContain('Over the quality budget (warn only: this step passes)')
    expect(run.summary).toContain('❌ over')
  })

  it('scores every output against base + adapters on the same 255 tokens', () => {
    expect(run.annotations.filter(a => a.startsWith('::error'))).toEqual([])
    expect(run.code).toBe(0)
    const figures = Object.fromEntries(manifest.outputs.map(o => [o.name, o.quality]))
    expect(Object.keys(figures).sort()).toEqual(['F16', 'Q2_K', 'Q8_0', 'mlx'])
    for (const [name, q] of Object.entries(figures)) {
      expect({ name, tokens: q?.tokens }).toEqual({ name, tokens: 255 })
      expect(q!.scoredBy).toBe(name === 'mlx' ? 'mlx' : 'llama-perplexity')
      expect(q!.pplChange).toBeCloseTo(q!.ppl / q!.pplReference - 1, 12)
    }
    // The reference's own perplexity, as the MLX scorer and llama-perplexity read it back.
    for (const q of Object.values(figures)) {
      expect(Math.abs(q!.pplReference / manifest.quality!.reference.ppl - 1)).toBeLessThan(2e-3)
    }
    // The bf16 fuse and its F16 conversion keep base + adapters; Q2_K costs more than Q8_0.
    expect(figures.mlx!.meanKld).toBeLessThan(CONVERSION_KLD_THRESHOLD)
    expect(figures.F16!.meanKld).toBeLessThan(CONVERSION_KLD_THRESHOLD)
    expect(figures.Q2_K!.meanKld).toBeGreaterThan(figures.Q8_0!.meanKld)
    expect(figures.Q8_0!.agreement).toBeGreaterThan(figures.Q2_K!.agreement - 1e-9)
    process.stderr.write(
      `[e2e quality figures] ${JSON.stringify({ figures, seconds: manifest.quality!.seconds })}\n`
    )
  })

  it('records the eval data, its chunking and the reference in the manifest', async () => {
    const q = manifest.quality!
    const bytes = await fs.readFile(EVAL_DATA)
    expect(q.evalData).toEqual({
      path: EVAL_DATA,
      format: 'text-jsonl',
      documents: (await fs.readFile(EVAL_DATA, 'utf8')).trim().split('\n').length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length
    })
    expect(q.chunking).toEqual({
      context: 512,
      chunks: 1,
      maxTokens: 512,
      tokens: 512,
      scoredTokens: 255,
      bosReplaced: expect.any(Boolean)
    })
    // header, 512 token ids, 255 rows of 50259 + 1 padding + 4 uint16s
    expect(q.reference).toMatchObject({ vocabulary: 50259, bytes: 20 + 4 * 512 + 255 * 50264 * 2 })
    // The adapters do change the base on their own training data.
    expect(q.adapterEffect.meanKld).toBeGreaterThan(CONVERSION_KLD_THRESHOLD)
    expect(q.conversionThreshold).toBe(CONVERSION_KLD_THRESHOLD)
    // The reference counted on disk beside every output, then removed with its working folder.
    const outputs = manifest.outputs.reduce((sum, o) => sum + o.bytes, 0)
    expect(manifest.peakDiskBytes).toBeGreaterThanOrEqual(outputs + q.reference.bytes)
    const names = await fs.readdir(work)
    expect(names.filter(n => n.startsWith('.') && n.includes('quality'))).toEqual([])
    // The chart of size against KL divergence beside the manifest: a point per output, by name.
    expect(names).toContain('fused-model.quality.svg')
    const svg = await fs.readFile(path.join(work, 'fused-model.quality.svg'), 'utf8')
    expect(svg.match(/<circle /g)).toHaveLength(4)
    for (const o of manifest.outputs) expect(svg).toContain(`<title>${o.name}</title>`)
    // No finding: the fuse kept the adapters and the conversion is faithful.
    expect(manifest.diagnoses.map(d => d.title)).not.toContainEqual(
      expect.stringMatching(/lost the adapters|does not reproduce|No quality figures/)
    )
  })

  it('shows the figures in the job summary and the quality step output', () => {
    const q = manifest.quality!
    expect(run.summary).toContain('<b>Quality against base + adapters</b>')
    expect(run.summary).toContain('Mean KL divergence')
    for (const o of manifest.outputs) {
      expect(run.summary).toContain(o.quality!.meanKld.toExponential(2))
    }
    expect(run.summary).toContain(`sha256 <code>${q.evalData.sha256}</code>`)
    expect(run.summary).toMatch(/the quality step took \d+\.\d s\./)
    const out = JSON.parse(run.outputs.quality) as Record<string, { meanKld: number }>
    expect(Object.keys(out).sort()).toEqual(['F16', 'Q2_K', 'Q8_0', 'mlx'])
    expect(out.Q2_K.meanKld).toBe(manifest.outputs.find(o => o.name === 'Q2_K')!.quality!.meanKld)
  })
})
