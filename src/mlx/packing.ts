/**
 * Bit width and group size of MLX packed (quantized) layers, inferred from their tensor shapes
 * when config.json does not describe them or disagrees with them.
 */
import { ActionError } from '../core/types.js'
import { MODE_DEFAULTS } from './model-config.js'
import type { TensorInfo } from './safetensors.js'

/** Bit widths MLX packs. */
const VALID_BITS = new Set([1, 2, 3, 4, 5, 6, 8])

export interface Located {
  file: string
  info: TensorInfo
}

function last(shape: number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1]
}

export function describeBits(bits: number | null, groupSize: number | null): string {
  if (bits === null) return 'nothing about its quantization'
  return groupSize === null ? `${bits}-bit` : `${bits}-bit group ${groupSize}`
}

export interface PackOption {
  bits: number
  groupSize: number
  /** in_features (scales columns x group size) is a dimension seen elsewhere in the model. */
  known: boolean
}

export type PackResolution =
  { fits: true; bits: number; groupSize: number } | { fits: false; options: PackOption[] }

/**
 * Bits and group size of one packed layer. The shapes are the truth:
 * `32 * u32_cols = bits * in_features` and `in_features = scales_cols * group_size`.
 * Config values are used when they fit; otherwise every group size MLX uses that gives a valid
 * bit width is an option (shapes alone cannot tell, say, 4-bit group 32 from 2-bit group 64), and
 * inspectWeights picks among them.
 */
export function resolvePacked(
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
    throw new ActionError({
      problem: `Cannot tell the bit width of packed weight ${layer}.weight in ${weight.file} (U32 [${weight.info.shape.join(', ')}] with scales [${scales.info.shape.join(', ')}] fit no MLX bit width)`,
      fix: `set its bits and group_size in config.json quantization or re-convert the model`
    })
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
export function pickOptions(
  pending: { options: PackOption[]; cfgGroup: number | null }[]
): PackOption[] {
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
export function modelDims(
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

/** Adds `n` to the count of `key` in `map`. */
export function add<K>(map: Map<K, number>, key: K, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}
