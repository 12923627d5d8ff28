/**
 * Exact parameter counts and bytes per dtype of an MLX model, from the safetensors headers alone.
 *
 * MLX affine layout: a quantized layer `X` stores `X.weight` as U32 (the packed byte stream,
 * `in * bits / 32` columns), and `X.scales` / `X.biases` with one value per group of
 * `group_size` inputs (`in / group_size` columns). mxfp4/mxfp8/nvfp4 have no biases.
 * Hugging Face's mxfp4 layout (GPT-OSS) stores `X_blocks` as U8 [..., out, in / 32, 16] (two 4-bit
 * codes a byte) and `X_scales` as U8 [..., out, in / 32]; mlx_lm views the blocks as the U32 weight
 * of an MLX mxfp4 layer (ml-explore/mlx-lm v0.32.2 mlx_lm/models/gpt_oss.py sanitize).
 */
import { ActionError, type PackedStats } from '../core/types.js'
import { MODE_DEFAULTS, readModelConfig, type ModelConfig } from './model-config.js'
import {
  add,
  describeBits,
  modelDims,
  pickOptions,
  resolvePacked,
  type Located,
  type PackResolution
} from './packing.js'
import {
  dtypeBytes,
  elementCount,
  isFloatDtype,
  listWeightFiles,
  readSafetensorsHeader,
  type TensorInfo
} from './safetensors.js'

/** One packed (quantized) layer as its shapes say. */
export interface PackedLayer {
  bits: number
  groupSize: number
  parameters: number
}

/** WeightStats plus the detail behind them. */
export interface WeightInspection extends PackedStats {
  /** The shard files read, in order. */
  files: string[]
  /** Size on disk of all shards (headers included). */
  fileBytes: number
  /** Packed layers by layer path (`X` of `X.weight`). */
  packedLayers: Map<string, PackedLayer>
  /** Plain-words notes, e.g. where config.json and the tensor shapes disagree. */
  notes: string[]
  /** Mixture-of-experts weights, stacked (`switch_mlp`) or per expert (`experts.N.`). */
  experts: boolean
}

/** Picks the widest float dtype; among equally wide ones, the one with the most bytes. */
function widestFloat(bytesByDtype: Map<string, number>): string | null {
  let best: string | null = null
  let bestWidth = -1
  let bestBytes = -1
  for (const [dtype, bytes] of bytesByDtype) {
    if (!isFloatDtype(dtype)) continue
    const width = dtypeBytes(dtype) ?? 0
    if (width > bestWidth || (width === bestWidth && bytes > bestBytes)) {
      best = dtype
      bestWidth = width
      bestBytes = bytes
    }
  }
  return best
}

/**
 * Reads every shard's header (never tensor data) and counts parameters and bytes exactly.
 * A packed `X.weight` (U32 with a sibling `X.scales`) counts `elements * 32 / bits` parameters,
 * with the layer's own bits; its scales and biases are overhead, not parameters.
 * `config` defaults to reading config.json; without one (null, or missing) the shapes decide.
 */
export async function inspectWeights(
  modelDir: string,
  config?: ModelConfig | null
): Promise<WeightInspection> {
  const notes: string[] = []
  const cfg = config === undefined ? await configOrNull(modelDir) : config
  if (cfg === null) {
    notes.push(
      `No readable config.json in ${modelDir}: bit widths of packed weights were read from the tensor shapes.`
    )
  }
  const files = await listWeightFiles(modelDir)
  const { tensors, fileBytes } = await readTensors(files)
  const packed = countPacked(findPacked(tensors, cfg), tensors, cfg)
  notes.push(...packed.notes)
  const tally = tallyTensors(tensors, packed.overhead, packed.weights)
  const quantized = packed.layers.size > 0
  const floatDtype =
    (quantized ? widestFloat(tally.scaleBytes) : null) ?? widestFloat(tally.floatBytes)
  return {
    parameters: packed.parameters + tally.plainParameters,
    bytesByDtype: Object.fromEntries(tally.bytesByDtype),
    tensorBytes: tally.tensorBytes,
    quantized,
    floatDtype,
    files,
    fileBytes,
    packedParameters: packed.parameters,
    packedBytes: packed.bytes,
    packedLayers: packed.layers,
    notes,
    experts: [...tensors.keys()].some(n => /\.switch_mlp\.|\.experts\.\d+\./.test(n))
  }
}

/** config.json, or null when there is none that reads (the tensor shapes decide then). */
async function configOrNull(modelDir: string): Promise<ModelConfig | null> {
  try {
    return await readModelConfig(modelDir)
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    return null
  }
}

/** Every tensor of every shard, by name, and the shards' size on disk. */
async function readTensors(
  files: string[]
): Promise<{ tensors: Map<string, Located>; fileBytes: number }> {
  const tensors = new Map<string, Located>()
  let fileBytes = 0
  for (const file of files) {
    const header = await readSafetensorsHeader(file)
    for (const [name, info] of Object.entries(header.tensors)) tensors.set(name, { file, info })
    fileBytes += 8 + header.headerBytes + dataSectionBytes(header.tensors)
  }
  return { tensors, fileBytes }
}

/** A packed layer: its packed weight, its scales, and what config.json says of it. */
interface Pending {
  layer: string
  weight: Located
  scales: Located
  /** Tensor names of the packed weight, its scales and (affine) biases. */
  names: { weight: string; scales: string; biases: string }
  override: number | false | undefined
  cfgBits: number | null
  cfgGroup: number | null
  /** The bits and group size it is counted with (from the shapes when config.json does not fit). */
  pick: { bits: number; groupSize: number }
  fits: boolean
}

/** Every packed layer (a U32 weight with scales, or U8 blocks with scales), its bits resolved. */
function findPacked(tensors: Map<string, Located>, cfg: ModelConfig | null): Pending[] {
  return [...findMlxPacked(tensors, cfg), ...findBlocks(tensors, cfg)]
}

/**
 * Hugging Face's microscaling layout: `X_blocks` (U8, the last axis the bytes of one group) with
 * `X_scales` (U8, the blocks' shape without that axis). config.json's quant_method gives the bits
 * (mxfp4: 4, mxfp8: 8); without it, mxfp4, the only one published in this layout.
 */
function findBlocks(tensors: Map<string, Located>, cfg: ModelConfig | null): Pending[] {
  const found: Pending[] = []
  for (const [name, t] of tensors) {
    if (!name.endsWith('_blocks') || t.info.dtype !== 'U8') continue
    const layer = name.slice(0, -'_blocks'.length)
    const scales = tensors.get(`${layer}_scales`)
    if (scales === undefined) continue
    const shape = t.info.shape
    const same = shape.slice(0, -1).join(',') === scales.info.shape.join(',')
    const bits = cfg?.quantization.bits ?? MODE_DEFAULTS.mxfp4[1]
    const groupSize = (shape[shape.length - 1] * 8) / bits
    if (!same || shape.length < 2 || !Number.isInteger(groupSize)) {
      throw new ActionError({
        problem: `Cannot read the mxfp4 weight ${name} in ${t.file} (U8 [${shape.join(', ')}] with scales [${scales.info.shape.join(', ')}]): the scales must have the blocks' shape without its last axis`,
        fix: `restore the model's original weights`
      })
    }
    const names = { weight: name, scales: `${layer}_scales`, biases: `${layer}_biases` }
    const pick = { bits, groupSize }
    found.push({
      layer,
      weight: t,
      scales,
      names,
      override: undefined,
      cfgBits: bits,
      cfgGroup: groupSize,
      pick,
      fits: true
    })
  }
  return found
}

/** MLX's own layout: a U32 weight with scales (and biases, affine). */
function findMlxPacked(tensors: Map<string, Located>, cfg: ModelConfig | null): Pending[] {
  const knownDims = modelDims(tensors, cfg?.raw ?? null)
  const mode = cfg?.quantization.mode ?? null
  const found: Array<Omit<Pending, 'pick' | 'fits' | 'names'> & { resolution: PackResolution }> = []
  for (const [name, t] of tensors) {
    if (!name.endsWith('.weight') || t.info.dtype !== 'U32') continue
    const layer = name.slice(0, -'.weight'.length)
    const scales = tensors.get(`${layer}.scales`)
    if (scales === undefined) continue
    const override = cfg?.layerBits.get(layer)
    const cfgBits = override === false ? null : (override ?? cfg?.quantization.bits ?? null)
    const cfgGroup = cfg?.layerGroupSizes.get(layer) ?? cfg?.quantization.groupSize ?? null
    const resolution = resolvePacked(layer, t, scales, cfgBits, cfgGroup, mode, knownDims)
    found.push({ layer, weight: t, scales, override, cfgBits, cfgGroup, resolution })
  }
  const unresolved = found.filter(f => !f.resolution.fits)
  const picks = pickOptions(
    unresolved.map(f => ({
      options: f.resolution.fits ? [] : f.resolution.options,
      cfgGroup: f.cfgGroup
    }))
  )
  const picked = new Map(unresolved.map((f, i) => [f, picks[i]]))
  return found.map(f => {
    const { resolution, ...rest } = f
    const names = {
      weight: `${f.layer}.weight`,
      scales: `${f.layer}.scales`,
      biases: `${f.layer}.biases`
    }
    const pick = resolution.fits ? resolution : picked.get(f)!
    return { ...rest, names, fits: resolution.fits, pick }
  })
}

/** Parameters and bytes of the packed layers, and a note where config.json disagrees. */
function countPacked(
  found: Pending[],
  tensors: Map<string, Located>,
  cfg: ModelConfig | null
): {
  layers: Map<string, PackedLayer>
  overhead: Set<string>
  /** Tensor names of the packed weights. */
  weights: Set<string>
  parameters: number
  bytes: number
  notes: string[]
} {
  const layers = new Map<string, PackedLayer>()
  const overhead = new Set<string>()
  const weights = new Set<string>()
  const mismatches = new Map<string, string[]>()
  let parameters = 0
  let bytes = 0
  for (const f of found) {
    const { layer, weight, scales, pick: r } = f
    if (!f.fits && cfg !== null) {
      const said = f.override === false ? 'not quantized' : describeBits(f.cfgBits, f.cfgGroup)
      const key = `${describeBits(r.bits, r.groupSize)}|${said}`
      mismatches.set(key, [...(mismatches.get(key) ?? []), layer])
    }
    // Each element of the packed tensor (U32 or U8) holds its width's worth of codes.
    const width = (dtypeBytes(weight.info.dtype) ?? 4) * 8
    const count = Math.round((elementCount(weight.info.shape) * width) / r.bits)
    layers.set(layer, { bits: r.bits, groupSize: r.groupSize, parameters: count })
    parameters += count
    weights.add(f.names.weight)
    overhead.add(f.names.scales)
    bytes += size(weight.info) + size(scales.info)
    const biases = tensors.get(f.names.biases)
    if (biases !== undefined) {
      overhead.add(f.names.biases)
      bytes += size(biases.info)
    }
  }
  const notes = [...mismatches].map(([key, names]) => {
    const [measured, said] = key.split('|')
    const which =
      names.length === 1 ? `Layer ${names[0]} is` : `${names.length} layers (e.g. ${names[0]}) are`
    return `${which} ${measured} by the tensor shapes although config.json says ${said}: counted by the shapes.`
  })
  return { layers, overhead, weights, parameters, bytes, notes }
}

/** Bytes by dtype (all, float, scales) and the parameters of the tensors that are not packed. */
function tallyTensors(
  tensors: Map<string, Located>,
  overhead: Set<string>,
  packedWeights: Set<string>
): {
  bytesByDtype: Map<string, number>
  floatBytes: Map<string, number>
  scaleBytes: Map<string, number>
  tensorBytes: number
  plainParameters: number
} {
  const bytesByDtype = new Map<string, number>()
  const floatBytes = new Map<string, number>()
  const scaleBytes = new Map<string, number>()
  let tensorBytes = 0
  let plainParameters = 0
  for (const [name, t] of tensors) {
    const bytes = size(t.info)
    tensorBytes += bytes
    add(bytesByDtype, t.info.dtype, bytes)
    if (overhead.has(name)) {
      if (/[._]scales$/.test(name)) add(scaleBytes, t.info.dtype, bytes)
      continue
    }
    if (!packedWeights.has(name)) plainParameters += elementCount(t.info.shape)
    add(floatBytes, t.info.dtype, bytes)
  }
  return { bytesByDtype, floatBytes, scaleBytes, tensorBytes, plainParameters }
}

function size(info: TensorInfo): number {
  return info.dataOffsets[1] - info.dataOffsets[0]
}

function dataSectionBytes(tensors: Record<string, TensorInfo>): number {
  let end = 0
  for (const t of Object.values(tensors)) end = Math.max(end, t.dataOffsets[1])
  return end
}
