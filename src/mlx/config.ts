/**
 * config.json of an MLX model directory as far as weight precision goes: model type, global
 * quantization settings and per-layer quantization entries.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'

import { ActionError, type MlxQuantization } from '../types.js'

/** config.json as far as weight precision goes. */
export interface ModelConfig {
  raw: Record<string, unknown>
  modelType: string | null
  quantization: MlxQuantization
  /**
   * Per-layer entries of `quantization`: layer path (e.g. `lm_head`) to its own bits, or `false`
   * for a layer left unquantized.
   */
  layerBits: Map<string, number | false>
  /** Per-layer group sizes, for the per-layer entries that set one. */
  layerGroupSizes: Map<string, number>
}

/** Keys of `quantization` that are global settings, not layer paths. */
const GLOBAL_KEYS = new Set(['bits', 'group_size', 'mode', 'quant_method'])

/** MLX's defaults per quantization mode: [group size, bits]. */
export const MODE_DEFAULTS: Record<string, [number, number]> = {
  affine: [64, 4],
  mxfp4: [32, 4],
  nvfp4: [16, 4],
  mxfp8: [32, 8]
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Reads `config.json` of a model directory: model type, global quantization (`quantization`,
 * else `quantization_config`) and per-layer entries.
 */
export async function readModelConfig(modelDir: string): Promise<ModelConfig> {
  const file = path.join(modelDir, 'config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ActionError(
      `Cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); point the input at a model directory that has its config.json.`
    )
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new ActionError(`${file} is not valid JSON; restore the model's original config.json.`)
  }
  if (!isObject(raw)) {
    throw new ActionError(
      `${file} does not hold a JSON object; restore the model's original config.json.`
    )
  }

  const q = isObject(raw.quantization)
    ? raw.quantization
    : isObject(raw.quantization_config)
      ? raw.quantization_config
      : null
  const bits = positiveInt(q?.bits)
  const groupSize = positiveInt(q?.group_size)
  // A present but malformed value must not read as "not quantized" (that would pick the wrong
  // fuse and the wrong size prediction): refuse it before any fuse.
  for (const [key, value] of [
    ['bits', bits],
    ['group_size', groupSize]
  ] as const) {
    // Only MLX's own `quantization` section: other tools' quantization_config use other
    // conventions (GPTQ writes group_size -1).
    if (isObject(raw.quantization) && q !== null && key in q && value === null) {
      throw new ActionError(
        `${file} has quantization.${key} ${JSON.stringify(q[key])}, which is not a positive whole number; restore the model's original config.json (MLX writes numbers, e.g. "bits": 4, "group_size": 64).`
      )
    }
  }
  const mode = typeof q?.mode === 'string' ? q.mode : q !== null && bits !== null ? 'affine' : null
  const quantization: MlxQuantization = { bits, groupSize, mode }

  const layerBits = new Map<string, number | false>()
  const layerGroupSizes = new Map<string, number>()
  if (q !== null) {
    const defaults = MODE_DEFAULTS[mode ?? 'affine'] ?? MODE_DEFAULTS.affine
    for (const [key, value] of Object.entries(q)) {
      if (GLOBAL_KEYS.has(key)) continue
      if (value === false) {
        layerBits.set(key, false)
      } else if (isObject(value)) {
        const b = positiveInt(value.bits)
        const g = positiveInt(value.group_size)
        if (b === null && g === null) continue
        layerBits.set(key, b ?? bits ?? defaults[1])
        if (g !== null) layerGroupSizes.set(key, g)
      }
    }
  }

  return {
    raw,
    modelType: typeof raw.model_type === 'string' ? raw.model_type : null,
    quantization,
    layerBits,
    layerGroupSizes
  }
}
