/**
 * config.json of an MLX model directory as far as weight precision goes: model type, global
 * quantization settings and per-layer quantization entries.
 */
import { readFile } from 'node:fs/promises'
import { replaceWithText } from '../core/rewrite.js'
import path from 'node:path'

import { ActionError, type MlxQuantization } from '../core/types.js'

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
const GLOBAL_KEYS = new Set([
  'bits',
  'group_size',
  'mode',
  'quant_method',
  'modules_to_not_convert'
])

/** MLX's defaults per quantization mode: [group size, bits]. */
export const MODE_DEFAULTS: Record<string, [number, number]> = {
  affine: [64, 4],
  mxfp4: [32, 4],
  nvfp4: [16, 4],
  mxfp8: [32, 8]
}

/** quant_method values mlx_lm loads as one of its own modes (utils.py load_model). */
const MICROSCALING_METHODS: Record<string, true> = { mxfp4: true, mxfp8: true }

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
    throw new ActionError({
      problem: `Cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      fix: `point the input at a model directory that has its config.json`
    })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new ActionError({
      problem: `${file} is not valid JSON`,
      fix: `restore the model's original config.json`
    })
  }
  if (!isObject(raw)) {
    throw new ActionError({
      problem: `${file} does not hold a JSON object`,
      fix: `restore the model's original config.json`
    })
  }

  const q = isObject(raw.quantization)
    ? raw.quantization
    : isObject(raw.quantization_config)
      ? raw.quantization_config
      : null
  const quantization = globalQuantization(file, raw, q)
  const { layerBits, layerGroupSizes } = perLayerQuantization(q, quantization)
  return {
    raw,
    modelType: typeof raw.model_type === 'string' ? raw.model_type : null,
    quantization,
    layerBits,
    layerGroupSizes
  }
}

/** The global bits, group size and mode of `quantization` (else `quantization_config`). */
function globalQuantization(
  file: string,
  raw: Record<string, unknown>,
  q: Record<string, unknown> | null
): MlxQuantization {
  // A microscaling quant_method (GPT-OSS: mxfp4) has no bits or group_size: mlx_lm reads it as
  // its own mode with that mode's defaults (ml-explore/mlx-lm v0.32.2 mlx_lm/utils.py load_model).
  const method =
    typeof q?.quant_method === 'string' && q.quant_method in MICROSCALING_METHODS
      ? q.quant_method
      : null
  const defaults = method === null ? null : MODE_DEFAULTS[method]
  const bits = positiveInt(q?.bits) ?? defaults?.[1] ?? null
  const groupSize = positiveInt(q?.group_size) ?? defaults?.[0] ?? null
  // A present but malformed value must not read as "not quantized" (that would pick the wrong
  // fuse and the wrong size prediction): refuse it before any fuse.
  for (const [key, value] of [
    ['bits', bits],
    ['group_size', groupSize]
  ] as const) {
    // Only MLX's own `quantization` section: other tools' quantization_config use other
    // conventions (GPTQ writes group_size -1).
    if (isObject(raw.quantization) && q !== null && key in q && value === null) {
      throw new ActionError({
        problem: `${file} has quantization.${key} ${JSON.stringify(q[key])}, which is not a positive whole number`,
        fix: `restore the model's original config.json (MLX writes numbers, e.g. "bits": 4, "group_size": 64)`
      })
    }
  }
  const mode =
    typeof q?.mode === 'string'
      ? q.mode
      : (method ?? (q !== null && bits !== null ? 'affine' : null))
  return { bits, groupSize, mode }
}

/** The per-layer entries of `quantization`: a layer path to its bits (or false) and group size. */
function perLayerQuantization(
  q: Record<string, unknown> | null,
  global: MlxQuantization
): Pick<ModelConfig, 'layerBits' | 'layerGroupSizes'> {
  const layerBits = new Map<string, number | false>()
  const layerGroupSizes = new Map<string, number>()
  if (q === null) return { layerBits, layerGroupSizes }
  const defaults = MODE_DEFAULTS[global.mode ?? 'affine'] ?? MODE_DEFAULTS.affine
  for (const [key, value] of Object.entries(q)) {
    if (GLOBAL_KEYS.has(key)) continue
    if (value === false) {
      layerBits.set(key, false)
    } else if (isObject(value)) {
      const b = positiveInt(value.bits)
      const g = positiveInt(value.group_size)
      if (b === null && g === null) continue
      layerBits.set(key, b ?? global.bits ?? defaults[1])
      if (g !== null) layerGroupSizes.set(key, g)
    }
  }
  return { layerBits, layerGroupSizes }
}

/**
 * mlx_lm runs a model's own Python code (config.json `model_file`) only when trusted: since the
 * CVE-2026-5843 fix (ml-explore/mlx-lm bfa25a16, after v0.31.3, mlx_lm/utils.py load_model) it
 * raises ValueError without `--trust-remote-code`. Refused here, before any fuse, unless the
 * trust-remote-code input allows it. `MLX_LM_TRUST_REMOTE_CODE` is not consent: no released
 * mlx-lm reads it (commit 76430f63 removed it before bfa25a16 merged), so a fuse started because
 * of it would fail inside mlx_lm (0.32+) or run the code without asking (older releases).
 */
export function checkRemoteCode(
  config: ModelConfig,
  baseModel: string,
  trusted: boolean,
  env: NodeJS.ProcessEnv = process.env
): void {
  const modelFile = config.raw.model_file
  if (modelFile === undefined || modelFile === null || trusted) return
  const ignored =
    (env.MLX_LM_TRUST_REMOTE_CODE ?? '') === ''
      ? ''
      : ' (MLX_LM_TRUST_REMOTE_CODE is read by no released mlx-lm and is not consent)'
  throw new ActionError({
    problem: `Input base-model "${baseModel}" has a config.json that names model_file ${JSON.stringify(modelFile)}, Python code that mlx_lm runs to build the model`,
    fix: `set trust-remote-code: true if you trust that code${ignored}, or use a base model without it`
  })
}

/**
 * mlx-lm up to 0.28.3 de-quantizes by removing `quantization` from config.json but leaves the
 * mirrored `quantization_config`, which every mlx_lm load then reads as a transformers config and
 * fails on (`KeyError: 'quant_method'`, ml-explore/mlx-lm v0.28.3 fuse.py line 80 and utils.py
 * line 208): such a model cannot be re-quantized or loaded again. Removes that stale key from a
 * de-quantized fuse the action made; returns true when it did.
 */
export async function dropStaleQuantizationConfig(modelDir: string): Promise<boolean> {
  const file = path.join(modelDir, 'config.json')
  const raw: unknown = JSON.parse(await readFile(file, 'utf8'))
  if (!isObject(raw) || raw.quantization !== undefined || !isObject(raw.quantization_config)) {
    return false
  }
  if ('quant_method' in raw.quantization_config) return false
  delete raw.quantization_config
  await replaceWithText(file, `${JSON.stringify(raw, null, 4)}\n`)
  return true
}
