/**
 * Weight precision in plain words, and size estimates: quantized, de-quantized, bits per weight.
 */
import {
  ActionError,
  type MlxQuantization,
  type PackedStats,
  type WeightStats
} from '../core/types.js'
import { add } from './packing.js'
import type { WeightInspection } from './weights.js'

/** Plain names of safetensors float dtypes, for messages and the summary. */
export const FLOAT_NAMES: Readonly<Record<string, string>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8 (e4m3)',
  F8_E5M2: 'float8 (e5m2)',
  F8_E8M0: 'float8 (e8m0)'
}

function floatName(dtype: string | null): string {
  if (dtype === null) return 'unknown precision'
  return FLOAT_NAMES[dtype] ?? dtype.toLowerCase()
}

function isInspection(stats: WeightStats): stats is WeightInspection {
  return (stats as Partial<WeightInspection>).packedLayers instanceof Map
}

function joinNames(layers: string[]): string {
  if (layers.length === 1) return layers[0]
  if (layers.length === 2) return `${layers[0]} and ${layers[1]}`
  return `${layers.length} layers`
}

/**
 * Weight precision in plain words for a summary table, e.g. `4-bit affine, group 64`,
 * `4-bit affine, group 64 (lm_head 8-bit)`, `bfloat16 (not quantized)`.
 * With a WeightInspection, the bit widths the shapes show win over config.json.
 */
export function describePrecision(
  q: MlxQuantization,
  stats: WeightStats,
  layerBits: Map<string, number | false>
): string {
  if (!stats.quantized) {
    const base = `${floatName(stats.floatDtype)} (not quantized`
    return q.bits === null ? `${base})` : `${base}, although config.json declares ${q.bits}-bit)`
  }

  const measured = isInspection(stats) ? stats.packedLayers : null
  let bits = q.bits
  let groupSize = q.groupSize
  if (measured !== null && measured.size > 0) {
    // The bit width (and group) holding the most parameters is the model's main precision.
    const byPrecision = new Map<string, number>()
    for (const l of measured.values()) add(byPrecision, `${l.bits}|${l.groupSize}`, l.parameters)
    const hasGlobal = [...byPrecision.keys()].some(k => k.startsWith(`${bits}|`))
    if (bits === null || !hasGlobal) {
      const top = [...byPrecision.entries()].sort((a, b) => b[1] - a[1])[0][0].split('|')
      bits = Number(top[0])
      groupSize = Number(top[1])
    }
  }
  const mode = q.mode ?? 'affine'
  let text = bits === null ? `quantized (${mode}, bit width unknown)` : `${bits}-bit ${mode}`
  if (groupSize !== null) text += `, group ${groupSize}`

  // Layers that differ from the main precision, grouped by what they are.
  const exceptions = new Map<string, string[]>()
  const push = (label: string, layer: string): void => {
    exceptions.set(label, [...(exceptions.get(label) ?? []), layer])
  }
  if (measured !== null) {
    for (const [layer, l] of measured) {
      if (l.bits !== bits) push(`${l.bits}-bit`, layer)
      else if (groupSize !== null && l.groupSize !== groupSize) {
        push(`group ${l.groupSize}`, layer)
      }
    }
  }
  for (const [layer, b] of layerBits) {
    if (b === false) {
      if (measured === null || !measured.has(layer)) push('not quantized', layer)
    } else if (measured === null && b !== bits) {
      push(`${b}-bit`, layer)
    }
  }
  if (exceptions.size > 0) {
    const parts = [...exceptions.entries()]
      .sort((a, b) => a[1].length - b[1].length || a[0].localeCompare(b[0]))
      .map(([label, layers]) => `${joinNames(layers)} ${label}`)
    text += ` (${parts.join(', ')})`
  }
  return text
}

function checkCount(what: string, n: number): void {
  if (!Number.isFinite(n) || n < 0) {
    throw new ActionError({
      problem: `Size estimate got ${what} = ${n}`,
      fix: `it must be a non-negative number`
    })
  }
}

/**
 * Estimated bytes of an MLX quantization of `parameters` weights: the packed values plus, per
 * group, one scale and one bias (`scaleBytes` each) in affine mode, or one 1-byte scale in the
 * microscaling modes (mxfp4, mxfp8, nvfp4: U8 scales, no biases; ml-explore/mlx v0.32 quantized
 * modes, as `mlx_lm convert --q-mode` writes them). An estimate: it treats every parameter as
 * quantized, while real models keep norms (and sometimes embeddings) in float.
 */
export function estimateQuantizedBytes(
  parameters: number,
  bits: number,
  groupSize: number,
  scaleBytes = 2,
  mode: string | null = 'affine'
): number {
  checkCount('parameters', parameters)
  checkCount('scaleBytes', scaleBytes)
  if (!Number.isFinite(bits) || bits <= 0) {
    throw new ActionError({
      problem: `Size estimate got bits = ${bits}`,
      fix: `it must be a positive number`
    })
  }
  if (!Number.isFinite(groupSize) || groupSize <= 0) {
    throw new ActionError({
      problem: `Size estimate got group size = ${groupSize}`,
      fix: `it must be a positive number`
    })
  }
  const perGroup = mode === null || mode === 'affine' ? 2 * scaleBytes : 1
  return Math.ceil((parameters * bits) / 8) + Math.ceil(parameters / groupSize) * perGroup
}

/**
 * Estimated bytes after de-quantizing every packed layer to `bytesPerParam` bytes per parameter
 * (16-bit by default): packed parameters at that size, scales and biases gone, every other tensor
 * at its own size. A model that is not quantized stays as it is.
 */
export function estimateFullPrecisionBytes(
  stats: Pick<PackedStats, 'quantized' | 'tensorBytes' | 'packedParameters' | 'packedBytes'>,
  bytesPerParam = 2
): number {
  // bytesPerParam = 2): number {
  checkCount('bytesPerParam', bytesPerParam)
  if (!stats.quantized) return stats.tensorBytes
  return stats.packedParameters * bytesPerParam + (stats.tensorBytes - stats.packedBytes)
}

/** bytes * 8 / parameters; null when parameters is 0 (or not a positive number). */
export function bitsPerWeight(bytes: number, parameters: number): number | null {
  if (!Number.isFinite(parameters) || parameters <= 0 || !Number.isFinite(bytes)) return null
  return (bytes * 8) / parameters
}
