/**
 * Exact parameter counts and bytes per dtype of an MLX model, from the safetensors headers alone.
 *
 * MLX affine layout: a quantized layer `X` stores `X.weight` as U32 (the packed byte stream,
 * `in * bits / 32` columns), and `X.scales` / `X.biases` with one value per group of
 * `group_size` inputs (`in / group_size` columns). mxfp4/mxfp8/nvfp4 have no biases.
 */
import { ActionError, type PackedStats } from '../core/types.js'
import { readModelConfig, type ModelConfig } from './config.js'
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
  const tally = tallyTensors(tensors, packed.overhead, packed.layers)
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
    notes
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

/** A packed layer: its U32 weight, its scales, and what config.json says of it. */
interface Pending {
  layer: string
  weight: Located
  scales: Located
  override: number | false | undefined
  cfgBits: number | null
  cfgGroup: number | null
  /** The bits and group size it is counted with (from the shapes when config.json does not fit). */
  pick: { bits: number; groupSize: number }
  fits: boolean
}

/** Every packed layer (a U32 weight with scales), its bit width resolved. */
function findPacked(tensors: Map<string, Located>, cfg: ModelConfig | null): Pending[] {
  const knownDims = modelDims(tensors, cfg?.raw ?? null)
  const mode = cfg?.quantization.mode ?? null
  const found: Array<Omit<Pending, 'pick' | 'fits'> & { resolution: PackResolution }> = []
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
    return { ...rest, fits: resolution.fits, pick: resolution.fits ? resolution : picked.get(f)! }
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
  parameters: number
  bytes: number
  notes: string[]
} {
  const layers = new Map<string, PackedLayer>()
  const overhead = new Set<string>()
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
    const count = Math.round((elementCount(weight.info.shape) * 32) / r.bits)
    layers.set(layer, { bits: r.bits, groupSize: r.groupSize, parameters: count })
    parameters += count
    overhead.add(`${layer}.scales`)
    bytes += size(weight.info) + size(scales.info)
    const biases = tensors.get(`${layer}.biases`)
    if (biases !== undefined) {
      overhead.add(`${layer}.biases`)
      bytes += size(biases.info)
    }
  }
  const notes = [...mismatches].map(([key, names]) => {
    const [measured, said] = key.split('|')
    const which =
      names.length === 1 ? `Layer ${names[0]} is` : `${names.length} layers (e.g. ${names[0]}) are`
    return `${which} ${measured} by the tensor shapes although config.json says ${said}: counted by the shapes.`
  })
  return { layers, overhead, parameters, bytes, notes }
}

/** Bytes by dtype (all, float, scales) and the parameters of the tensors that are not packed. */
function tallyTensors(
  tensors: Map<string, Located>,
  overhead: Set<string>,
  packedLayers: Map<string, PackedLayer>
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
      if (name.endsWith('.scales')) add(scaleBytes, t.info.dtype, bytes)
      continue
    }
    const packedWeight = name.endsWith('.weight') && packedLayers.has(name.slice(0, -7))
    if (!packedWeight) plainParameters += elementCount(t.info.shape)
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
