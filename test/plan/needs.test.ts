/**
 * The run's needs, computed once from the base's headers (src/plan/needs.ts): the figures the
 * doctor states and the plan refuses on. Tiny models made here; the headers are real files.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { estimateFullPrecisionBytes } from '../../src/mlx/precision.js'
import { inspectWeights } from '../../src/mlx/weights.js'
import { fuseNeeds, readBase, runNeeds, startReadingBase } from '../../src/plan/needs.js'
import { rejection } from '../fixtures/rejection.js'
import { makeTinyModel } from '../fixtures/tiny.js'

let root: string
let q4: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'needs-'))
  q4 = await makeTinyModel(path.join(root, 'q4'), { bits: 4, groupSize: 64 })
})

const plain = { dequantize: false, quantizeBits: null, gguf: false }

describe('the needs of a run, from the base read once', () => {
  it('reads config.json and the weight headers, and counts the GGUF peak when gguf is set', async () => {
    const stats = await inspectWeights(q4)
    const full = estimateFullPrecisionBytes(stats)
    const mlx = await readBase(q4, plain)
    expect(mlx.dir).toBe(q4)
    expect(mlx.config.quantization).toMatchObject({ bits: 4, groupSize: 64 })
    expect(mlx.stats.tensorBytes).toBe(stats.tensorBytes)
    // Kept quantized: the base's tensors on disk and in memory.
    expect(mlx.needs).toMatchObject({
      diskBytes: stats.tensorBytes,
      memoryBytes: stats.tensorBytes,
      diskWhat: 'the fused model',
      forGguf: false
    })
    // With gguf: the quantized fuse, then the de-quantized fuse and its 16-bit GGUF beside it.
    const gguf = await readBase(q4, { ...plain, gguf: true })
    expect(gguf.needs).toMatchObject({
      diskBytes: stats.tensorBytes + 2 * full,
      memoryBytes: 2 * full,
      memoryWhat: 'the de-quantized fuse',
      diskWhat: 'the fused model and its GGUF conversion',
      forGguf: true
    })
    // dequantize asked for by the user: the de-quantized fuse is not there because of gguf.
    expect(runNeeds(stats, { ...plain, dequantize: true, gguf: true }).forGguf).toBe(false)
    // gguf-adapter: the base's 16-bit GGUF is kept, made beside its de-quantized copy.
    expect(runNeeds(stats, { ...plain, gguf: true, ggufAdapter: true })).toMatchObject({
      diskBytes: stats.tensorBytes + 2 * full + 2 * full,
      diskWhat: 'the fused model, its GGUF conversion and the base GGUF'
    })
  })

  it('counts the quality reference of eval-data in the disk figure, sized from config.json', async () => {
    const stats = await inspectWeights(q4)
    const config = JSON.parse(await fs.readFile(path.join(q4, 'config.json'), 'utf8'))
    const vocab = config.vocab_size as number
    const ctx = Math.min(512, (config.max_position_embeddings as number | undefined) ?? 512)
    const chunks = Math.floor(4096 / ctx)
    const reading = await readBase(q4, { ...plain, evalTokens: 4096 })
    // header, the token ids, and (ctx − 1 − ctx/2) rows of 2·⌈vocab/2⌉ + 4 uint16s per chunk
    const reference =
      20 +
      4 * ctx * chunks +
      chunks * (ctx - 1 - Math.floor(ctx / 2)) * (2 * Math.ceil(vocab / 2) + 4) * 2
    expect(reading.needs).toMatchObject({
      diskBytes: stats.tensorBytes + reference,
      diskWhat: 'the fused model and the quality reference',
      quality: { nVocab: vocab, referenceBytes: reference, chunking: { ctx, maxChunks: chunks } }
    })
    // fewer tokens than one chunk: refused with the input's name while the base is read
    await expect(readBase(q4, { ...plain, evalTokens: ctx - 1 })).rejects.toThrow(
      new RegExp(`Input eval-tokens is ${ctx - 1}, less than one chunk of ${ctx} tokens`)
    )
  })

  it('raises an unreadable base where it is awaited, never as an unhandled rejection', async () => {
    const rejected: unknown[] = []
    const listener = (reason: unknown): void => void rejected.push(reason)
    process.on('unhandledRejection', listener)
    try {
      const reading = startReadingBase(path.join(root, 'no-such-model'), plain)
      // Nothing awaits it for a while (the doctor may have stopped early): no unhandled rejection.
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(rejected).toEqual([])
      expect((await rejection(reading)).message).toContain('no-such-model')
    } finally {
      process.off('unhandledRejection', listener)
    }
  })
})

describe('fuseNeeds with mixture-of-experts weights', () => {
  it("counts the converter's per-expert copy of a full-precision MLX output", () => {
    const stats = {
      quantized: false,
      tensorBytes: 1000,
      packedParameters: 0,
      packedBytes: 0
    }
    // A full-precision fuse is the conversion source: its 16-bit GGUF beside it ...
    expect(fuseNeeds(stats, false, null, true).diskBytes).toBe(2000)
    // ... and, with stacked experts, their per-expert copy for the converter (src/gguf/unstack.ts).
    expect(fuseNeeds({ ...stats, experts: true }, false, null, true).diskBytes).toBe(3000)
    // A de-quantized fuse made for the GGUF path only is split in place: nothing more.
    const q = { quantized: true, tensorBytes: 300, packedParameters: 400, packedBytes: 200 }
    const full = 400 * 2 + 100
    expect(fuseNeeds({ ...q, experts: true }, false, null, true).diskBytes).toBe(300 + 2 * full)
  })
})
