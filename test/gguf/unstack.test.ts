/**
 * Stacked mixture-of-experts weights split per expert for llama.cpp's converter (src/gguf/unstack.ts).
 * The real convert_hf_to_gguf.py (llama.cpp v0.4.0) refuses `switch_mlp` ("Can not map tensor
 * 'model.layers.0.mlp.switch_mlp.down_proj.weight'") and maps the per-expert names; the split
 * must keep every byte, in a folder the action owns, and leave the fused model as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { prepareExperts } from '../../src/gguf/unstack.js'
import { freeBytes } from '../../src/core/disk.js'
import { writeSafetensors, type TensorSpec } from '../fixtures/safetensors.js'
import { readSafetensorsHeader } from '../fixtures/tiny.js'

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'unstack-'))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

const E = 4
const H = 32
const I = 16

async function treeHash(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await fs.readdir(dir)).sort()) {
    out[name] = createHash('sha256')
      .update(await fs.readFile(path.join(dir, name)))
      .digest('hex')
  }
  return out
}

/** A stacked (MLX layout) MoE model: two shards, random bf16 data, an index. */
async function stackedModel(block: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'model-'))
  const first: Record<string, TensorSpec> = {
    'model.embed_tokens.weight': { dtype: 'BF16', shape: [64, H] },
    [`${block}.switch_mlp.down_proj.weight`]: { dtype: 'BF16', shape: [E, H, I] },
    [`${block}.switch_mlp.gate_proj.weight`]: { dtype: 'BF16', shape: [E, I, H] },
    [`${block}.gate.weight`]: { dtype: 'BF16', shape: [E, H] }
  }
  const second: Record<string, TensorSpec> = {
    'model.norm.weight': { dtype: 'BF16', shape: [H] },
    [`${block}.switch_mlp.up_proj.weight`]: { dtype: 'BF16', shape: [E, I, H] }
  }
  const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
  await writeSafetensors(path.join(dir, shards[0]), first, {
    metadata: { format: 'mlx' },
    random: true
  })
  await writeSafetensors(path.join(dir, shards[1]), second, { random: true })
  const weightMap: Record<string, string> = {}
  for (const n of Object.keys(first)) weightMap[n] = shards[0]
  for (const n of Object.keys(second)) weightMap[n] = shards[1]
  await fs.writeFile(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap })
  )
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'qwen3_moe' }))
  return dir
}

async function tensorBytes(file: string, name: string): Promise<Buffer> {
  const header = await readSafetensorsHeader(file)
  const [a, b] = header.tensors[name].data_offsets
  const data = await fs.readFile(file)
  return data.subarray(header.dataStart + a, header.dataStart + b)
}

describe('prepareExperts', () => {
  it('splits switch_mlp into per-expert tensors, byte for byte, in a folder of its own', async () => {
    const block = 'model.layers.0.mlp'
    const model = await stackedModel(block)
    const before = await treeHash(model)
    const work = await fs.mkdtemp(path.join(root, 'work-'))
    const prepared = await prepareExperts(model, work, freeBytes)

    expect(prepared.dir).toBe(path.join(work, 'convert-experts', path.basename(model)))
    expect(prepared.changes).toEqual([
      `3 stacked mixture-of-experts weights (switch_mlp) split into 12 per-expert tensors, the names the converter maps (2 shards rewritten in ${prepared.dir})`
    ])
    expect(await treeHash(model)).toEqual(before) // the fused model is only read
    // Untouched files are links to the model's; the shards and the index are the view's own.
    expect((await fs.lstat(path.join(prepared.dir, 'config.json'))).isSymbolicLink()).toBe(true)
    for (const name of ['model-00001-of-00002.safetensors', 'model.safetensors.index.json']) {
      expect((await fs.lstat(path.join(prepared.dir, name))).isFile()).toBe(true)
    }
    const [src1, src2] = ['00001', '00002'].map(n =>
      path.join(model, `model-${n}-of-00002.safetensors`)
    )
    const [dst1, dst2] = ['00001', '00002'].map(n =>
      path.join(prepared.dir, `model-${n}-of-00002.safetensors`)
    )
    expect(prepared.bytes).toBe((await fs.stat(dst1)).size + (await fs.stat(dst2)).size)
    const header = await readSafetensorsHeader(dst1)
    expect(header.metadata).toEqual({ format: 'mlx' })
    expect(Object.keys(header.tensors).filter(n => n.includes('switch_mlp'))).toEqual([])
    for (const [projection, file, dst, shape] of [
      ['down_proj', src1, dst1, [H, I]],
      ['gate_proj', src1, dst1, [I, H]],
      ['up_proj', src2, dst2, [I, H]]
    ] as const) {
      const stacked = await tensorBytes(file, `${block}.switch_mlp.${projection}.weight`)
      const slice = stacked.length / E
      for (let e = 0; e < E; e++) {
        const name = `${block}.experts.${e}.${projection}.weight`
        expect((await readSafetensorsHeader(dst)).tensors[name].shape).toEqual(shape)
        expect(
          (await tensorBytes(dst, name)).equals(stacked.subarray(e * slice, (e + 1) * slice))
        ).toBe(true)
      }
    }
    // Every other tensor keeps its bytes.
    expect(
      (await tensorBytes(dst2, 'model.norm.weight')).equals(
        await tensorBytes(src2, 'model.norm.weight')
      )
    ).toBe(true)
    const index = JSON.parse(
      await fs.readFile(path.join(prepared.dir, 'model.safetensors.index.json'), 'utf8')
    ) as { weight_map: Record<string, string> }
    expect(index.weight_map[`${block}.experts.3.up_proj.weight`]).toBe(
      'model-00002-of-00002.safetensors'
    )
    expect(Object.keys(index.weight_map).filter(n => n.includes('switch_mlp'))).toEqual([])
    expect(Object.keys(index.weight_map)).toHaveLength(3 + 3 * E)
  })

  it("names Mixtral's experts w1 (gate), w2 (down) and w3 (up)", async () => {
    const block = 'model.layers.0.block_sparse_moe'
    const model = await stackedModel(block)
    const prepared = await prepareExperts(
      model,
      await fs.mkdtemp(path.join(root, 'work-')),
      freeBytes
    )
    const names = Object.keys(
      (await readSafetensorsHeader(path.join(prepared.dir, 'model-00001-of-00002.safetensors')))
        .tensors
    )
    expect(names).toEqual(
      expect.arrayContaining([`${block}.experts.0.w1.weight`, `${block}.experts.3.w2.weight`])
    )
  })

  it('rewrites a folder the action already owns in place, and leaves a dense model alone', async () => {
    const model = await stackedModel('model.layers.0.mlp')
    const before = await treeHash(model)
    const work = await fs.mkdtemp(path.join(root, 'work-'))
    const view = path.join(work, 'convert-source', 'fused')
    await fs.mkdir(view, { recursive: true })
    for (const name of await fs.readdir(model)) {
      await fs.symlink(path.join(model, name), path.join(view, name))
    }
    const prepared = await prepareExperts(view, work, freeBytes)
    expect(prepared.dir).toBe(view)
    // The rewritten shards replaced links: their bytes are new on disk.
    const rewritten = (await fs.readdir(view)).filter(n => n.endsWith('.safetensors'))
    const real = []
    for (const n of rewritten) {
      if ((await fs.lstat(path.join(view, n))).isFile()) real.push(n)
    }
    expect(real.length).toBeGreaterThan(0)
    let sum = 0
    for (const n of real) sum += (await fs.stat(path.join(view, n))).size
    expect(prepared.bytes).toBe(sum)
    expect(await treeHash(model)).toEqual(before)
    expect((await fs.lstat(path.join(view, 'model-00002-of-00002.safetensors'))).isFile()).toBe(
      true
    )

    const dense = await fs.mkdtemp(path.join(root, 'dense-'))
    await writeSafetensors(path.join(dense, 'model.safetensors'), {
      'model.norm.weight': { dtype: 'BF16', shape: [H] }
    })
    const work2 = await fs.mkdtemp(path.join(root, 'work-'))
    expect(await prepareExperts(dense, work2, freeBytes)).toEqual({
      dir: dense,
      bytes: 0,
      changes: []
    })
    expect(await fs.readdir(work2)).toEqual([])
  })
})
