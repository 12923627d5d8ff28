/**
 * The "erased adapter", with the real mlx-lm on MLX's CPU backend and the real llama.cpp: LoRA
 * adapters made in the test (test/fixtures/make_erased_adapter.py) that change every adapted
 * weight of a tiny 4-bit llama by under half its 4-bit step. `mlx_lm fuse` into the 4-bit base
 * re-quantizes the change away (the fused weights equal the base's byte for byte, checked here
 * tensor by tensor), yet base + adapters, as mlx_lm loads them, flips the most likely token on a
 * share of the eval tokens. A run without dequantize reports the MLX output's lost fidelity
 * beside the F16 GGUF's kept one (the GGUF path fuses again de-quantized) and advises
 * `dequantize: true`, from the figures alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type { ManifestV1 } from '../../src/report/index.js'
import type { ActionRun } from '../fixtures/action.js'
import { runInProcess } from '../fixtures/in-process.js'
import { readValidManifest } from '../fixtures/manifest.js'
import { DATA_DIR, convertPython, mlxPython, realModel } from '../fixtures/real.js'
import { FIXTURES_DIR, run as runTool } from '../fixtures/tiny.js'

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!
/** Each weight changes by this share of its 4-bit step: under the half that rounds away. */
const FRACTION = 0.3

let work: string
let base: string
let run: ActionRun
let manifest: ManifestV1

/** Tensors of `a` and `b` (MLX folders) that differ in name, dtype, shape or bytes. */
async function differingTensors(a: string, b: string): Promise<string[]> {
  const script = [
    'import sys, json, glob, mlx.core as mx, numpy as np',
    'def load(d):',
    '    w = {}',
    '    for f in sorted(glob.glob(d + "/*.safetensors")): w.update(mx.load(f))',
    '    return w',
    'a, b = load(sys.argv[1]), load(sys.argv[2])',
    'raw = lambda t: np.array(t.view(mx.uint8) if t.dtype != mx.uint32 else t).tobytes()',
    'bad = sorted(set(a) ^ set(b)) + [k for k in a if k in b and (a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or raw(a[k]) != raw(b[k]))]',
    'print(json.dumps({"tensors": len(a), "differ": bad}))'
  ].join('\n')
  const { stdout } = await runTool(mlxPython(), ['-c', script, a, b])
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { tensors: number; differ: string[] }
  expect(r.tensors).toBeGreaterThan(20)
  return r.differ
}

beforeAll(async () => {
  const base4 = await realModel('llama', '4bit')
  work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'erased-adapter-')))
  base = path.join(work, 'base-4bit')
  const adapters = path.join(work, 'erased-adapters')
  await runTool(mlxPython(), [
    path.join(FIXTURES_DIR, 'make_erased_adapter.py'),
    ...[base4.dir, base, adapters, '--fraction', String(FRACTION)]
  ])
  run = await runInProcess(
    {
      'base-model': base,
      'adapter-path': adapters,
      python: mlxPython(),
      'output-dir': 'fused-model',
      gguf: 'F16',
      'llama-cpp-dir': LLAMA_CPP_DIR,
      'convert-python': convertPython(),
      'smoke-test': 'false',
      upload: 'false',
      'eval-data': path.join(DATA_DIR, 'train.jsonl'),
      'eval-tokens': '512'
    },
    { cwd: work }
  )
  manifest = await readValidManifest<ManifestV1>(path.join(work, 'fused-model.manifest.json'))
}, 1_800_000)

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true })
})

describe('an erased adapter: under half a 4-bit step per weight (real mlx-lm and llama.cpp)', () => {
  it('fuses into the 4-bit base as the base itself, byte for byte', async () => {
    expect(run.code).toBe(0)
    expect(await differingTensors(base, path.join(work, 'fused-model'))).toEqual([])
  })

  it('yet flips the top-1 token in float, and the 4-bit fuse keeps none of it', () => {
    const q = manifest.quality!
    const mlx = manifest.outputs.find(o => o.name === 'mlx')!.quality!
    process.stderr.write(
      `[erased adapter] ${JSON.stringify({ effect: q.adapterEffect, outputs: manifest.outputs.map(o => ({ name: o.name, quality: o.quality })), seconds: q.seconds })}\n`
    )
    // The base alone is far from base + adapters: the adapters flip the top token on over 10 %.
    expect(q.adapterEffect.agreement).toBeLessThan(0.9)
    expect(q.adapterEffect.meanKld).toBeGreaterThan(q.conversionThreshold)
    // The 4-bit fuse holds the base's weights, so it scores as the base does.
    expect(mlx.meanKld).toBeCloseTo(q.adapterEffect.meanKld, 6)
    expect(mlx.agreement).toBe(q.adapterEffect.agreement)
  })

  it('the de-quantized fuse (the F16 GGUF) keeps it, and the advice is dequantize: true', () => {
    const q = manifest.quality!
    const mlx = manifest.outputs.find(o => o.name === 'mlx')!.quality!
    const f16 = manifest.outputs.find(o => o.name === 'F16')!.quality!
    expect(f16.meanKld).toBeLessThan(q.adapterEffect.meanKld / 2)
    expect(f16.agreement).toBeGreaterThan(mlx.agreement)
    const advice = manifest.diagnoses.find(d => d.title.includes('lost the adapters'))!
    expect(advice).toMatchObject({
      level: 'warning',
      output: 'mlx',
      title: 'The quantized fuse lost the adapters; the de-quantized one kept them'
    })
    expect(advice.text).toContain('set dequantize: true')
    expect(advice.text).toContain(`the base alone ${q.adapterEffect.meanKld.toPrecision(2)}`)
    expect(run.summary).toContain(
      'The quantized fuse lost the adapters; the de-quantized one kept them'
    )
  })
})
