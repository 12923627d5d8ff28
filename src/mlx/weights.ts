/**
 * Exact parameter counts and bytes per dtype of an MLX model, from the safetensors headers alone.
 *
 * MLX affine layout: a quantized layer `X` stores `X.weight` as U32 (the packed byte stream,
 * `in * bits / 32` columns), and `X.scales` / `X.biases` with one value per group of
 * `group_size` inputs (`in / group_size` columns). mxfp4/mxfp8/nvfp4 have no biases.
 */
import { ActionError, type PackedStats } from '../types.js'
import { readModelConfig, type ModelConfig } from './config.js'
import {
  add,
  describeBits,
  modelDims,
  pickOptions,
  resolvePacked,
  type Located,
  type PackOption,
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
  let cfg = config
  if (cfg === undefined) {
    try {
      cfg = await readModelConfig(modelDir)
    } catch (err) {
      if (!(err instanceof ActionError)) throw err
      cfg = null
    }
  }
  if (cfg === null) {
    notes.push(
      `No readable config.json in ${modelDir}: bit widths of packed weights were read from the tensor shapes.`
    )
  }

  const files = await listWeightFiles(modelDir)
  const tensors = new Map<string, Located>()
  let fileBytes = 0
  for (const file of files) {
    const header = await readSafetensorsHeader(file)
    for (const [name, info] of Object.entries(header.tensors)) tensors.set(name, { file, info })
    fileBytes += 8 + header.headerBytes + dataSectionBytes(header.tensors)
  }

  const globalBits = cfg?.quantization.bits ?? null
  const globalGroup = cfg?.quantization.groupSize ?? null
  const mode = cfg?.quantization.mode ?? null

  const knownDims = modelDims(tensors, cfg?.raw ?? null)
  const packedLayers = new Map<string, PackedLayer>()
  const overhead = new Set<string>()
  const mismatches = new Map<string, string[]>()
  let parameters = 0
  let packedParameters = 0
  let packedBytes = 0

  interface Pending {
    layer: string
    weight: Located
    scales: Located
    override: number | false | undefined
    cfgBits: number | null
    cfgGroup: number | null
    resolution: PackResolution
  }
  const found: Pending[] = []
  for (const [name, t] of tensors) {
    if (!name.endsWith('.weight') || t.info.dtype !== 'U32') continue
    const layer = name.slice(0, -'.weight'.length)
    const scales = tensors.get(`${layer}.scales`)
    if (scales === undefined) continue
    const override = cfg?.layerBits.get(layer)
    const cfgBits = override === false ? null : (override ?? globalBits)
    const cfgGroup = cfg?.layerGroupSizes.get(layer) ?? globalGroup
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

  for (const f of found) {
    const { layer, weight, scales } = f
    const r = f.resolution.fits ? f.resolution : (picked.get(f) as PackOption)
    if (!f.resolution.fits && cfg !== null) {
      const said = f.override === false ? 'not quantized' : describeBits(f.cfgBits, f.cfgGroup)
      const key = `${describeBits(r.bits, r.groupSize)}|${said}`
      mismatches.set(key, [...(mismatches.get(key) ?? []), layer])
    }
    const count = Math.round((elementCount(weight.info.shape) * 32) / r.bits)
    packedLayers.set(layer, { bits: r.bits, groupSize: r.groupSize, parameters: count })
    parameters += count
    packedParameters += count
    overhead.add(`${layer}.scales`)
    packedBytes += size(weight.info) + size(scales.info)
    const biases = tensors.get(`${layer}.biases`)
    if (biases !== undefined) {
      overhead.add(`${layer}.biases`)
      packedBytes += size(biases.info)
    }
  }
  for (const [key, layers] of mismatches) {
    const [measured, said] = key.split('|')
    const which =
      layers.length === 1
        ? `Layer ${layers[0]} is`
        : `${layers.length} layers (e.g. ${layers[0]}) are`
    notes.push(
      `${which} ${measured} by the tensor shapes although config.json says ${said}: counted by the shapes.`
    )
  }

  const bytesByDtype = new Map<string, number>()
  const floatBytes = new Map<string, number>()
  const scaleBytes = new Map<string, number>()
  let tensorBytes = 0
  for (const [name, t] of tensors) {
    const bytes = size(t.info)
    tensorBytes += bytes
    add(bytesByDtype, t.info.dtype, bytes)
    if (overhead.has(name)) {
      if (name.endsWith('.scales')) add(scaleBytes, t.info.dtype, bytes)
      continue
    }
    const packedWeight = name.endsWith('.weight') && packedLayers.has(name.slice(0, -7))
    if (!packedWeight) parameters += elementCount(t.info.shape)
    add(floatBytes, t.info.dtype, bytes)
  }

  const quantized = packedLayers.size > 0
  const floatDtype = (quantized ? widestFloat(scaleBytes) : null) ?? widestFloat(floatBytes)

  return {
    parameters,
    bytesByDtype: Object.fromEntries(bytesByDtype),
    tensorBytes,
    quantized,
    floatDtype,
    files,
    fileBytes,
    packedParameters,
    packedBytes,
    packedLayers,
    notes
  }
}

function size(info: TensorInfo): number {
  return info.dataOffsets[1] - info.dataOffsets[0]
}

function dataSectionBytes(tensors: Record<string, TensorInfo>): number {
  let end = 0
  for (const t of Object.values(tensors)) end = Math.max(end, t.dataOffsets[1])
  return end
}
