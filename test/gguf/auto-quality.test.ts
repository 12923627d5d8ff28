/**
 * `gguf: auto` with a quality budget, in-process with the real tools: the real mlx-lm fuses a tiny
 * real llama with real LoRA adapters, llama.cpp converts it, and auto walks the ladder from Q2_K
 * up, each type made by the real llama-quantize and scored by the real llama-perplexity against
 * the run's one reference. The size budget lets every type through, so without the quality budget
 * auto takes Q8_0, the best-quality type that fits; the quality budget (a mean KL divergence
 * between Q2_K's and Q8_0's) makes it take a smaller type than Q8_0 but a larger one than Q2_K,
 * and the summary says which budget ruled out each type it passed over.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type { ManifestV1 } from '../../src/report/index.js'
import type { ActionRun } from '../fixtures/action.js'
import { runInProcess } from '../fixtures/in-process.js'
import { readValidManifest } from '../fixtures/manifest.js'
import { DATA_DIR, convertPython, mlxPython, realAdapters, realModel } from '../fixtures/real.js'

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!
/** Between Q2_K's mean KL divergence on this model and data (about 0.01) and Q8_0's (about 1e-5). */
const KLD_LIMIT = 0.001

let work: string
let run: ActionRun
let manifest: ManifestV1

interface Candidate {
  type: string
  measuredBytes?: number
  quality?: { meanKld: number }
  ruledOut?: { budget: string; reason: string }
  seconds?: number
}

beforeAll(async () => {
  const base = await realModel('llama', 'bf16')
  const adapters = await realAdapters('llama', 'bf16', 'lora')
  work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'auto-quality-')))
  run = await runInProcess(
    {
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      python: mlxPython(),
      'output-dir': 'fused-model',
      gguf: 'auto',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      'smoke-test': 'false',
      upload: 'false',
      'eval-data': path.join(DATA_DIR, 'train.jsonl'),
      'eval-tokens': '512',
      'size-budget': 'gguf=1GB',
      'quality-budget': `gguf=kld:${KLD_LIMIT}`
    },
    { cwd: work }
  )
  manifest = await readValidManifest<ManifestV1>(path.join(work, 'fused-model.manifest.json'))
}, 1_800_000)

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true })
})

describe('gguf: auto with a quality budget (real mlx-lm, llama-quantize and llama-perplexity)', () => {
  it('walks up from Q2_K and takes the first type within both budgets', () => {
    expect(run.code).toBe(0)
    const auto = manifest.gguf!.auto!
    const candidates = auto.candidates as Candidate[]
    process.stderr.write(`[auto-quality] ${JSON.stringify(auto)}\n`)
    expect(auto.qualityBudget).toEqual([`gguf=kld:${KLD_LIMIT}`])
    const ladder = candidates.map(c => c.type)
    const chosen = ladder.indexOf(auto.type)
    // The size budget passes every type: today's rule would take the first, Q8_0.
    expect(ladder[0]).toBe('Q8_0')
    expect(ladder.at(-1)).toBe('Q2_K')
    for (const c of candidates) expect(c.ruledOut?.budget).not.toBe('size')
    expect(auto.type).not.toBe('Q8_0')
    expect(auto.type).not.toBe('Q2_K')
    // Passed over (smaller than the choice): made, scored, over the quality budget, removed.
    for (const c of candidates.slice(chosen + 1)) {
      expect(c.quality!.meanKld).toBeGreaterThan(KLD_LIMIT)
      expect(c.ruledOut).toEqual({
        budget: 'quality',
        reason: expect.stringContaining(`${c.type}: mean KL divergence`)
      })
      expect(c.seconds).toBeGreaterThan(0)
    }
    // The choice is within it; the larger types were never made.
    expect(candidates[chosen].quality!.meanKld).toBeLessThanOrEqual(KLD_LIMIT)
    expect(candidates[chosen].ruledOut).toBeUndefined()
    for (const c of candidates.slice(0, chosen)) expect(c.measuredBytes).toBeUndefined()
    const files = manifest.outputs.filter(o => o.kind === 'gguf').map(o => o.name)
    expect(files).toEqual([auto.type])
  })

  it('reuses auto’s figures for the chosen output and judges it within the quality budget', () => {
    const auto = manifest.gguf!.auto!
    const chosen = (auto.candidates as Candidate[]).find(c => c.type === auto.type)!
    const output = manifest.outputs.find(o => o.name === auto.type)!
    expect(output.quality).toEqual(chosen.quality)
    expect(output.qualityStatus).toBe('within')
    expect(output.status).toBe('within')
    // The stage's time holds auto's scorings: at least their sum.
    const scoring = (auto.candidates as Candidate[]).reduce((s, c) => s + (c.seconds ?? 0), 0)
    expect(manifest.quality!.seconds).toBeGreaterThan(0)
    expect(scoring).toBeGreaterThan(0)
  })

  it('says in the summary which budget ruled out each type it passed over', () => {
    const auto = manifest.gguf!.auto!
    expect(run.summary).toContain(
      `gguf: auto chose <code>${auto.type}</code>, the smallest type within both gguf=1GB and the quality budget (gguf=kld:${KLD_LIMIT})`
    )
    expect(run.summary).toMatch(
      /<code>Q2_K<\/code>: measured [^\n]*, mean KL divergence \S+ — ruled out by the quality budget: Q2_K: mean KL divergence \S+ is over its quality budget of 0\.00100 \(quality-budget entry "gguf=kld:0\.001"\)/
    )
    expect(run.summary).toContain(`<code>${auto.type}</code>: measured`)
    // The reference's working folder and every passed-over file are gone.
    return fs.readdir(work).then(names => {
      expect(names.filter(n => n.startsWith('.'))).toEqual([])
    })
  })
})
