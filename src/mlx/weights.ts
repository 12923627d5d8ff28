/**
 * Exact parameter counts and bytes per dtype of an MLX model, from the safetensors headers alone.
 *
 * MLX affine layout: a quantized layer `X` stores `X.weight` as U32 (the packed byte stream,
 * `in * bits / 32` columns), and `X.scales` / `X.biases` with one value per group of
 * `group_size` inputs (`in / group_size` columns). mxfp4/mxfp8/nvfp4 have no biases.
 */
import { ActionError, type WeightStats } from '../types.js'
import { MODE_DEFAULTS, readModelConfig, type ModelConfig } from './config.js'
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
export interface WeightInspection extends WeightStats {
  /** The shard files read, in order. */
  files: string[]
  /** Size on disk of all shards (headers included). */
  fileBytes: number
  /** Parameters stored packed (sum over packedLayers). */
  packedParameters: number
  /** Bytes of packed weights plus their scales and biases. */
  packedBytes: number
  /** Packed layers by layer path (`X` of `X.weight`). */
  packedLayers: Map<string, PackedLayer>
  /** Plain-words notes, e.g. where config.json and the tensor shapes disagree. */
  notes: string[]
}

/** Bit widths MLX packs. */
const VALID_BITS = new Set([1, 2, 3, 4, 5, 6, 8])

interface Located {
  file: string
  info: TensorInfo
}

function last(shape: number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1]
}

function describeBits(bits: number | null, groupSize: number | null): string {
  if (bits === null) return 'nothing about its quantization'
  return groupSize === null ? `${bits}-bit` : `${bits}-bit group ${groupSize}`
}

interface PackOption {
  bits: number
  groupSize: number
  /** in_features (scales columns x group size) is a dimension seen elsewhere in the model. */
  known: boolean
}

type PackResolution =
  { fits: true; bits: number; groupSize: number } | { fits: false; options: PackOption[] }

/**
 * Bits and group size of one packed layer. The shapes are the truth:
 * `32 * u32_cols = bits * in_features` and `in_features = scales_cols * group_size`.
 * Config values are used when they fit; otherwise every group size MLX uses that gives a valid
 * bit width is an option (shapes alone cannot tell, say, 4-bit group 32 from 2-bit group 64), and
 * inspectWeights picks among them.
 */
function resolvePacked(
  layer: string,
  weight: Located,
  scales: Located,
  cfgBits: number | null,
  cfgGroup: number | null,
  mode: string | null,
  knownDims: Set<number>
): PackResolution {
  const cols = last(weight.info.shape)
  const groups = last(scales.info.shape)
  const packedBits = 32 * cols
  if (cfgBits !== null && cfgGroup !== null && packedBits === cfgBits * groups * cfgGroup) {
    return { fits: true, bits: cfgBits, groupSize: cfgGroup }
  }
  const modeGroup = (MODE_DEFAULTS[mode ?? 'affine'] ?? MODE_DEFAULTS.affine)[0]
  const groupSizes = [...new Set([cfgGroup, modeGroup, 64, 32, 128, 16])].filter(
    (g): g is number => g !== null
  )
  const options: PackOption[] = []
  if (groups > 0) {
    for (const g of groupSizes) {
      const b = packedBits / (groups * g)
      if (VALID_BITS.has(b)) {
        options.push({ bits: b, groupSize: g, known: knownDims.has(groups * g) })
      }
    }
  }
  if (options.length === 0) {
    throw new ActionError(
      `Cannot tell the bit width of packed weight ${layer}.weight in ${weight.file} (U32 [${weight.info.shape.join(', ')}] with scales [${scales.info.shape.join(', ')}] fit no MLX bit width); set its bits and group_size in config.json quantization or re-convert the model.`
    )
  }
  // Config's bits with whatever group size fits (config.json gives no group size): no conflict.
  if (cfgBits !== null && cfgGroup === null) {
    const same = options.filter(o => o.bits === cfgBits)
    const pick = same.find(o => o.known) ?? same[0]
    if (pick !== undefined) return { fits: true, bits: pick.bits, groupSize: pick.groupSize }
  }
  return { fits: false, options }
}

/**
 * Picks one option per layer for layers config.json does not describe: first those whose
 * in_features is a known dimension, then the config's group size, then the group size that
 * explains the most such layers across the model, then MLX's order (mode default, 64, 32, ...).
 */
function pickOptions(pending: { options: PackOption[]; cfgGroup: number | null }[]): PackOption[] {
  const score = new Map<number, number>()
  for (const p of pending) {
    for (const o of p.options) if (o.known) add(score, o.groupSize, 1)
  }
  let preferred: number | null = null
  for (const [g, n] of score) {
    if (preferred === null || n > (score.get(preferred) ?? 0)) preferred = g
  }
  return pending.map(({ options, cfgGroup }) => {
    const rank = (o: PackOption): number =>
      (o.known ? 4 : 0) + (o.groupSize === cfgGroup ? 2 : 0) + (o.groupSize === preferred ? 1 : 0)
    return options.reduce((best, o) => (rank(o) > rank(best) ? o : best), options[0])
  })
}

/**
 * Dimensions seen in the model apart from packed inputs: every dimension of float tensors, the
 * leading (output) dimensions of packed weights, and the integers in config.json.
 */
function modelDims(
  tensors: Map<string, Located>,
  raw: Record<string, unknown> | null
): Set<number> {
  const dims = new Set<number>()
  for (const [name, t] of tensors) {
    if (name.endsWith('.scales') || name.endsWith('.biases')) continue
    const shape = t.info.dtype === 'U32' ? t.info.shape.slice(0, -1) : t.info.shape
    for (const d of shape) if (d > 1) dims.add(d)
  }
  for (const v of Object.values(raw ?? {})) {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 1) dims.add(v)
  }
  return dims
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

/** Adds `n` to the count of `key` in `map`. */
export function add<K>(map: Map<K, number>, key: K, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
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
