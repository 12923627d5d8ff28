/**
 * Mixture-of-experts weights made convertible. mlx_lm stacks each expert projection into one
 * `P.switch_mlp.X.weight` [experts, out, in] tensor (mlx_lm/models/qwen3_moe.py sanitize, see
 * src/mlx/experts.ts), a name llama.cpp's converter cannot map ("Can not map tensor"): v0.4.0
 * merges experts from their Hugging Face per-expert names, `P.experts.E.X.weight`
 * (ggml-org/llama.cpp v0.4.0 conversion/qwen.py Qwen2MoeModel.modify_tensors; Mixtral's
 * `experts.E.w1/w2/w3` in conversion/llama.py). Expert E of a stacked tensor is one contiguous
 * byte range of it, so un-stacking rewrites only the safetensors header: the data section is
 * copied byte for byte into a file of the folder the action owns for the conversion, never into
 * the fused model.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'

import { ensureFreeSpace, type FreeBytes } from '../core/disk.js'
import { linkFolder, replaceWithText, writeHeadAndTail } from '../core/rewrite.js'
import { expertModule, stackedProjection } from '../mlx/experts.js'
import {
  isFloatDtype,
  listWeightFiles,
  readSafetensorsHeader,
  type SafetensorsHeader
} from '../mlx/safetensors.js'

/** A shard's header with its stacked expert weights split, and what each one became. */
export interface UnstackedHeader {
  /** The header JSON (`__metadata__` kept), every tensor in data order. */
  json: Record<string, unknown>
  /** Stacked tensor name to its per-expert tensor names, in expert order. */
  split: Map<string, string[]>
}

/** The header of a safetensors shard, stacked expert weights split per expert; null when none. */
export function unstackedHeader(header: SafetensorsHeader): UnstackedHeader | null {
  const out: Record<string, unknown> = {}
  const split = new Map<string, string[]>()
  if (Object.keys(header.metadata).length > 0) out.__metadata__ = header.metadata
  const ordered = Object.entries(header.tensors).sort(
    (a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]
  )
  for (const [name, info] of ordered) {
    const stacked = name.endsWith('.weight') ? stackedProjection(name.slice(0, -7)) : null
    if (stacked === null || info.shape.length !== 3 || !isFloatDtype(info.dtype)) {
      out[name] = { dtype: info.dtype, shape: info.shape, data_offsets: info.dataOffsets }
      continue
    }
    const [experts, ...matrix] = info.shape
    const slice = (info.dataOffsets[1] - info.dataOffsets[0]) / experts
    const names: string[] = []
    for (let e = 0; e < experts; e++) {
      const start = info.dataOffsets[0] + e * slice
      const expert = `${expertModule(stacked, e)}.weight`
      out[expert] = { dtype: info.dtype, shape: matrix, data_offsets: [start, start + slice] }
      names.push(expert)
    }
    split.set(name, names)
  }
  return split.size > 0 ? { json: out, split } : null
}

/** The 8-byte length and the header JSON, space-padded to 8 bytes as safetensors writers do. */
function headBytes(header: Record<string, unknown>): Buffer {
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8)
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)))
  return Buffer.concat([length, Buffer.from(json)])
}

export interface Unstacked {
  /** Shards rewritten into the target folder, by file name. */
  shards: string[]
  /** Stacked tensors split, and the per-expert tensors they became. */
  stacked: number
  experts: number
  /** Bytes written. */
  bytes: number
}

/**
 * The shards of `modelDir` that hold stacked expert weights: their file names. Cheap (headers
 * only); an empty list means the converter can read the weights as they are.
 */
export async function stackedShards(modelDir: string): Promise<string[]> {
  const names: string[] = []
  for (const file of await listWeightFiles(modelDir)) {
    if (unstackedHeader(await readSafetensorsHeader(file)) !== null) names.push(path.basename(file))
  }
  return names
}

/**
 * Writes into `viewDir` (a folder the action owns for the conversion, holding links to or copies
 * of `modelDir`'s files) every shard of `modelDir` that holds stacked expert weights, with those
 * weights split per expert, and model.safetensors.index.json to match. Other files are left as
 * they are in `viewDir`; `modelDir` is only read.
 */
export async function unstackExperts(modelDir: string, viewDir: string): Promise<Unstacked> {
  const result: Unstacked = { shards: [], stacked: 0, experts: 0, bytes: 0 }
  const renamed = new Map<string, string[]>()
  for (const file of await listWeightFiles(modelDir)) {
    const header = await readSafetensorsHeader(file)
    const unstacked = unstackedHeader(header)
    if (unstacked === null) continue
    const name = path.basename(file)
    const head = headBytes(unstacked.json)
    await writeHeadAndTail(path.join(viewDir, name), head, file, 8 + header.headerBytes)
    const dataBytes = Math.max(0, ...Object.values(header.tensors).map(t => t.dataOffsets[1]))
    result.shards.push(name)
    result.bytes += head.length + dataBytes
    for (const [tensor, experts] of unstacked.split) {
      renamed.set(tensor, experts)
      result.stacked++
      result.experts += experts.length
    }
  }
  if (renamed.size > 0) await rewriteIndex(modelDir, viewDir, renamed)
  return result
}

/** model.safetensors.index.json with the per-expert names in the stacked tensors' places. */
async function rewriteIndex(
  modelDir: string,
  viewDir: string,
  renamed: ReadonlyMap<string, string[]>
): Promise<void> {
  const file = path.join(modelDir, 'model.safetensors.index.json')
  const text = await fs.readFile(file, 'utf8').catch(() => null)
  if (text === null) return
  const index = JSON.parse(text) as { weight_map?: Record<string, string> }
  const map: Record<string, string> = {}
  for (const [name, shard] of Object.entries(index.weight_map ?? {})) {
    for (const n of renamed.get(name) ?? [name]) map[n] = shard
  }
  index.weight_map = map
  await replaceWithText(
    path.join(viewDir, 'model.safetensors.index.json'),
    `${JSON.stringify(index, null, 2)}\n`
  )
}

/** The folder the converter reads, with stacked experts split, and what was done for the log. */
export interface ExpertSource {
  dir: string
  /** Bytes it adds on disk (0 when the converter reads `modelDir` as it is, or it was rewritten in place). */
  bytes: number
  changes: string[]
}

/**
 * The folder the converter should read for `modelDir`: `modelDir` itself when it holds no stacked
 * expert weights; when it does, a folder of links under `workDir` (or `modelDir` itself when it is
 * already such a folder under `workDir`) whose stacked shards are rewritten per expert. Checks the
 * free space for the rewritten shards first.
 */
export async function prepareExperts(
  modelDir: string,
  workDir: string,
  free: FreeBytes
): Promise<ExpertSource> {
  const shards = await stackedShards(modelDir)
  if (shards.length === 0) return { dir: modelDir, bytes: 0, changes: [] }
  const owned = path.resolve(modelDir).startsWith(path.resolve(workDir) + path.sep)
  // A copy needs every rewritten shard; a rewrite in place one shard at a time.
  const sizes = await Promise.all(
    shards.map(async n => (await fs.stat(path.join(modelDir, n))).size)
  )
  const need = owned ? Math.max(...sizes) : sizes.reduce((a, b) => a + b, 0)
  await ensureFreeSpace(
    workDir,
    need,
    "the converter's per-expert copy of the expert weights",
    free
  )
  const dir = owned ? modelDir : path.join(workDir, 'convert-experts', path.basename(modelDir))
  // In an owned folder of links (the tokenizer view) a rewritten shard replaces a link: new bytes.
  const linked = owned ? await linkedShards(modelDir, shards) : []
  if (!owned) await linkFolder(modelDir, dir)
  const done = await unstackExperts(modelDir, dir)
  return {
    dir,
    bytes: owned ? await fileBytes(dir, linked) : done.bytes,
    changes: [
      `${done.stacked} stacked mixture-of-experts weights (switch_mlp) split into ${done.experts} per-expert tensors, the names the converter maps (${done.shards.length} shard${done.shards.length === 1 ? '' : 's'} rewritten in ${dir})`
    ]
  }
}

/** Those `shards` of `dir` that are symbolic links. */
async function linkedShards(dir: string, shards: readonly string[]): Promise<string[]> {
  const linked: string[] = []
  for (const name of shards) {
    if ((await fs.lstat(path.join(dir, name))).isSymbolicLink()) linked.push(name)
  }
  return linked
}

async function fileBytes(dir: string, names: readonly string[]): Promise<number> {
  let bytes = 0
  for (const name of names) bytes += (await fs.stat(path.join(dir, name))).size
  return bytes
}
