/**
 * Mixture-of-experts weights in their two layouts. mlx_lm's `sanitize` stacks a Hugging Face
 * model's per-expert projections into one [experts, out, in] tensor per projection:
 * `P.experts.E.{gate,up,down}_proj.weight` become `P.switch_mlp.{gate,up,down}_proj.weight`
 * (ml-explore/mlx-lm v0.32.2 mlx_lm/models/qwen3_moe.py and qwen2_moe.py sanitize), and the
 * Mixtral family's `block_sparse_moe.experts.E.{w1,w2,w3}` become
 * `block_sparse_moe.switch_mlp.{gate,down,up}_proj` (models/mixtral.py, phimoe.py sanitize).
 * Fused models keep the stacked (MLX) layout.
 */
import type { TensorInfo } from './safetensors.js'

/** Mixtral's per-expert names for the stacked projections. */
const MIXTRAL_NAMES: Readonly<Record<string, string>> = {
  gate_proj: 'w1',
  down_proj: 'w2',
  up_proj: 'w3'
}

const STACKED = /^(.*)\.switch_mlp\.(gate_proj|up_proj|down_proj)$/

/** A stacked projection `P.switch_mlp.X`: the block prefix `P` and the projection `X`. */
export interface StackedProjection {
  prefix: string
  projection: string
}

/** `layer` (a module path, no `.weight`) as a stacked projection, or null. */
export function stackedProjection(layer: string): StackedProjection | null {
  const m = STACKED.exec(layer)
  return m ? { prefix: m[1], projection: m[2] } : null
}

/** The Hugging Face module path of expert `e` of a stacked projection. */
export function expertModule(stacked: StackedProjection, e: number): string {
  const name = stacked.prefix.endsWith('block_sparse_moe')
    ? MIXTRAL_NAMES[stacked.projection]
    : stacked.projection
  return `${stacked.prefix}.experts.${e}.${name}`
}

/**
 * The stacked weight a base in Hugging Face layout holds for `layer` (a `switch_mlp` path), read
 * from its per-expert tensors: dtype and [experts, out, in], or null when the base has none or the
 * experts disagree on dtype or shape.
 */
export function perExpertWeight(
  layer: string,
  tensors: Readonly<Record<string, TensorInfo>>
): TensorInfo | null {
  const stacked = stackedProjection(layer)
  if (stacked === null) return null
  const first = tensors[`${expertModule(stacked, 0)}.weight`]
  if (first === undefined || first.shape.length !== 2) return null
  let experts = 0
  for (;;) {
    const t = tensors[`${expertModule(stacked, experts)}.weight`]
    if (t === undefined) break
    if (t.dtype !== first.dtype || t.shape.join(',') !== first.shape.join(',')) return null
    experts++
  }
  return { ...first, shape: [experts, ...first.shape] }
}
