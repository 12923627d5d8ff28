/**
 * The base model at 16-bit, for gguf-adapter's base GGUF (a LoRA GGUF applies to a 16-bit base in
 * llama.cpp): the base's own folder when it is not quantized, else a de-quantized copy made with
 * `mlx_lm convert -d` in a staging folder beside `besideDir`, owned by the GGUF stage that
 * converts it (it removes it). The MLX stage owns every mlx_lm run: the GGUF stage never starts one.
 */
import path from 'node:path'
import type { Workspace } from '../core/workspace.js'
import type { Command, FullPrecisionSource } from '../core/types.js'
import { runDequantize, type FuseRequest } from './fuse.js'
import { estimateFullPrecisionBytes } from './precision.js'
import { inspectWeights } from './weights.js'

export interface SixteenBitBase extends FullPrecisionSource {
  /** The de-quantize command, when one ran. */
  commands: Command[]
}

export async function sixteenBitBase(
  mlx: Pick<FuseRequest, 'env' | 'hfToken' | 'trustRemoteCode'>,
  base: { dir: string; bits: number | null },
  besideDir: string,
  ws: Workspace,
  /** false when the base GGUF comes from the cache: the base is then read, never converted. */
  dequantize = true
): Promise<SixteenBitBase> {
  const stats = await inspectWeights(base.dir)
  if (base.bits === null || !dequantize) return { dir: base.dir, owned: null, stats, commands: [] }
  const staging = await ws.stage(besideDir, 'base16')
  try {
    await ws.ensureRoom(staging, estimateFullPrecisionBytes(stats), 'the de-quantized base')
    const dir = path.join(staging, path.basename(base.dir))
    const argv = await runDequantize(mlx, base.dir, dir)
    await ws.wrote(dir)
    return {
      dir,
      owned: staging,
      stats: await inspectWeights(dir),
      commands: [{ what: 'De-quantize the base', argv }]
    }
  } catch (error) {
    return ws.failed(error, staging)
  }
}
