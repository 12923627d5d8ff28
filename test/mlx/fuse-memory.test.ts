/**
 * The fuse's memory, checked before the first fuse (issue 15): mlx-lm 0.32 keeps the whole fused
 * model in memory while it writes it (ml-explore/mlx-lm commit 7283fb34, `donate_model=False` in
 * fuse.py honoured by utils.py `save`), so a de-quantizing fuse holds the 16-bit model. The
 * machine's memory is injected; the figure comes from the base's tensors, never from a fuse.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type { GgufConfig } from '../../src/core/config.js'
import { formatSize } from '../../src/core/size.js'
import { readModelConfig } from '../../src/mlx/model-config.js'
import { estimateFullPrecisionBytes } from '../../src/mlx/precision.js'
import { inspectWeights } from '../../src/mlx/weights.js'
import { freeBytes } from '../../src/core/disk.js'
import { precheckBase } from '../../src/plan.js'
import { readBase } from '../../src/plan/needs.js'
import { rejection } from '../fixtures/rejection.js'
import { makeTinyModel } from '../fixtures/tiny.js'

let root: string
let q4: string
let bf16: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'fuse-memory-'))
  ;[q4, bf16] = await Promise.all([
    makeTinyModel(path.join(root, 'q4'), { bits: 4, groupSize: 64 }),
    makeTinyModel(path.join(root, 'bf16'), { dtype: 'bf16' })
  ])
})

const config = (base: string, over: { dequantize?: boolean; gguf?: boolean } = {}) => ({
  baseModel: base,
  trustRemoteCode: false,
  dequantize: over.dequantize ?? false,
  quantizeBits: null,
  gguf: over.gguf ? ({} as GgufConfig) : null,
  outputDir: path.join(root, 'out')
})

/** The 16-bit model: a de-quantizing fuse holds twice it (measured, see src/plan/needs.ts FuseNeeds). */
async function sixteenBit(base: string): Promise<number> {
  return estimateFullPrecisionBytes(await inspectWeights(base, await readModelConfig(base)))
}

type Checked = ReturnType<typeof config>

/** precheckBase on the base read once, as the plan reads it, on a machine with `totalMemory`. */
async function precheck(c: Checked, dir: string, version: string, totalMemory: number) {
  const inputs = { dequantize: c.dequantize, quantizeBits: c.quantizeBits, gguf: c.gguf !== null }
  return precheckBase(c, await readBase(dir, inputs), null, version, { freeBytes, totalMemory })
}

describe('the fuse memory check before the first fuse', () => {
  it("refuses a de-quantized fuse larger than the machine's memory, saying how much it needs", async () => {
    const need = 2 * (await sixteenBit(q4))
    const err = await rejection(precheck(config(q4, { dequantize: true }), q4, '0.32.2', need - 1))
    expect(err.message).toBe(
      `Not enough memory for the de-quantized fuse: mlx-lm 0.32.2 keeps the whole fused model in memory while it writes it, about ${formatSize(need)}, but this machine has ${formatSize(need - 1)} in all; use a runner with more memory, or a smaller or quantized base model without dequantize.`
    )
    await expect(
      precheck(config(q4, { dequantize: true }), q4, '0.32.2', need)
    ).resolves.toMatchObject({ quantization: { bits: 4 } })
  })

  it("counts the GGUF path's own de-quantized fuse of a quantized base", async () => {
    const need = 2 * (await sixteenBit(q4))
    const err = await rejection(precheck(config(q4, { gguf: true }), q4, '0.32.2', need - 1))
    expect(err.message).toMatch(
      /^Not enough memory for the de-quantized fuse: .*; use a runner with more memory, or drop the gguf input \(its conversion needs that de-quantized fuse\)\.$/
    )
    // Without gguf the same base stays quantized: about its own tensors.
    const quantized = (await inspectWeights(q4)).tensorBytes
    await expect(precheck(config(q4), q4, '0.32.2', quantized)).resolves.toMatchObject({
      dir: q4
    })
  })

  it('counts a full-precision base as the 16-bit model, and spares mlx-lm before 0.32', async () => {
    const need = await sixteenBit(bf16)
    const err = await rejection(precheck(config(bf16), bf16, '0.32.2', need - 1))
    expect(err.message).toContain(`Not enough memory for the fuse: mlx-lm 0.32.2 keeps`)
    // With gguf too, the fuse itself is the full-precision source: no second fuse to drop.
    const gguf = await rejection(precheck(config(bf16, { gguf: true }), bf16, '0.32.2', need - 1))
    expect(gguf.message).toMatch(
      /; use a runner with more memory, or a smaller or quantized base model without dequantize\.$/
    )
    // Older releases donate the model and free it shard by shard while writing.
    await expect(precheck(config(bf16), bf16, '0.31.3', need - 1)).resolves.toMatchObject({
      dir: bf16
    })
  })
})
