/** Validation of the adapter directory written by `mlx_lm.lora`, before any expensive work. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { ActionError } from '../core/types.js'
import { readModelConfig, type ModelConfig } from './model-config.js'
import { perExpertWeight } from './experts.js'
import {
  listWeightFiles,
  readSafetensorsHeader,
  type SafetensorsHeader,
  type TensorInfo
} from './safetensors.js'

export interface AdapterInfo {
  dir: string
  fineTuneType: 'lora' | 'dora' | 'full'
  numLayers: number | null
  rank: number | null
  scale: number | null
  /** Keys the adapters apply to, when the config names them. */
  keys: string[] | null
  weightsBytes: number
}

const FINE_TUNE_TYPES = ['lora', 'dora', 'full'] as const
const CHECKPOINT = /^(\d+)_adapters\.safetensors$/

/**
 * Checks the adapter folder before any expensive work: adapter_config.json, and the header of
 * adapters.safetensors (a truncated, empty or garbled file is refused here, not by a Python
 * traceback in the fuse). With a local `baseDir`, every adapted layer must exist in the base with
 * matching shapes (see {@link checkAdaptersFitBase}).
 */
export async function validateAdapters(
  dir: string,
  baseDir: string | null = null
): Promise<AdapterInfo> {
  const stat = await fs.stat(dir).catch(() => null)
  if (!stat?.isDirectory()) {
    throw new ActionError({
      problem: `Input adapter-path "${dir}" is not a directory`,
      fix: `point it at the folder mlx_lm.lora wrote (its --adapter-path, "adapters" by default)`
    })
  }
  const configFile = path.join(dir, 'adapter_config.json')
  const text = await fs.readFile(configFile, 'utf8').catch(() => null)
  if (text === null) {
    throw new ActionError({
      problem: `Input adapter-path "${dir}" has no adapter_config.json`,
      fix: `point it at the folder mlx_lm.lora wrote, which holds adapter_config.json and adapters.safetensors`
    })
  }
  let config: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error()
    config = parsed as Record<string, unknown>
  } catch {
    throw new ActionError({
      problem: `${configFile} is not a JSON object`,
      fix: `restore the adapter_config.json that mlx_lm.lora wrote`
    })
  }
  if ('lora_layers' in config || 'use_dora' in config) {
    throw new ActionError({
      problem: `${configFile} comes from an old mlx-lm (it uses "lora_layers"/"use_dora"), which current mlx_lm fuse cannot load`,
      fix: `rename "lora_layers" to "num_layers" and replace "use_dora" with "fine_tune_type": "lora" or "dora"`
    })
  }
  const fineTuneType = config.fine_tune_type ?? 'lora'
  if (!FINE_TUNE_TYPES.includes(fineTuneType as (typeof FINE_TUNE_TYPES)[number])) {
    throw new ActionError({
      problem: `${configFile} has fine_tune_type ${JSON.stringify(fineTuneType)}`,
      fix: `mlx_lm fuse accepts lora, dora or full`
    })
  }
  if (fineTuneType !== 'full') checkLoraKeys(config, configFile)
  const weights = path.join(dir, 'adapters.safetensors')
  const weightsStat = await fs.stat(weights).catch(() => null)
  if (!weightsStat?.isFile()) {
    const newest = await newestCheckpoint(dir)
    throw new ActionError(
      newest
        ? {
            problem: `${weights} does not exist, only numbered checkpoints (the newest is ${newest})`,
            fix: `copy ${newest} to adapters.safetensors to fuse it, or let training finish`
          }
        : {
            problem: `${weights} does not exist`,
            fix: 'let mlx_lm.lora finish training, which writes it'
          }
    )
  }
  const header = await readSafetensorsHeader(
    weights,
    'copy a complete checkpoint (NNNNNNN_adapters.safetensors) over it, or train again'
  )
  if (Object.keys(header.tensors).length === 0) {
    throw new ActionError({
      problem: `${weights} holds no tensors`,
      fix: `copy a complete checkpoint (NNNNNNN_adapters.safetensors) over it, or train again`
    })
  }
  checkLoraPairs(weights, header)
  if (baseDir !== null) await checkAdaptersFitBase(weights, header, baseDir)
  const lora = (config.lora_parameters ?? {}) as Record<string, unknown>
  return {
    dir,
    fineTuneType: fineTuneType as AdapterInfo['fineTuneType'],
    numLayers: typeof config.num_layers === 'number' ? config.num_layers : null,
    rank: typeof lora.rank === 'number' ? lora.rank : null,
    scale: typeof lora.scale === 'number' ? lora.scale : null,
    keys: Array.isArray(lora.keys) ? lora.keys.map(String) : null,
    weightsBytes: weightsStat.size
  }
}

/** Keys of lora_parameters that mlx_lm's linear_to_lora_layers reads with `config[...]`. */
const LORA_PARAMETER_KEYS = ['rank', 'scale', 'dropout'] as const

/**
 * mlx_lm fuse reads `num_layers` and `lora_parameters` (rank, scale, dropout) as attributes of
 * the adapter config, so a config without them fails inside fuse with an AttributeError or
 * KeyError (ml-explore/mlx-lm v0.31.3, mlx_lm/tuner/utils.py load_adapters and
 * linear_to_lora_layers). mlx_lm.lora writes all of them (mlx_lm/lora.py CONFIG_DEFAULTS).
 */
function checkLoraKeys(config: Record<string, unknown>, configFile: string): void {
  const written = 'mlx_lm.lora writes it with every other training setting (mlx-lm 0.19 and newer)'
  if (typeof config.num_layers !== 'number') {
    throw new ActionError({
      problem: `${configFile} has no numeric "num_layers", which mlx_lm fuse needs to know how many layers were adapted`,
      fix: `${written}: use the adapter_config.json from the training run, or add "num_layers" with the --num-layers value you trained with`
    })
  }
  const lora = config.lora_parameters
  if (typeof lora !== 'object' || lora === null || Array.isArray(lora)) {
    throw new ActionError({
      problem: `${configFile} has no "lora_parameters" object, which mlx_lm fuse needs for the adapters' rank and scale`,
      fix: `${written}: use the adapter_config.json from the training run`
    })
  }
  const missing = LORA_PARAMETER_KEYS.find(
    k => typeof (lora as Record<string, unknown>)[k] !== 'number'
  )
  if (missing) {
    throw new ActionError({
      problem: `${configFile} has no numeric "lora_parameters.${missing}", which mlx_lm fuse reads`,
      fix: `${written}: use the adapter_config.json from the training run`
    })
  }
}

async function newestCheckpoint(dir: string): Promise<string | null> {
  const names = await fs.readdir(dir)
  const steps = names
    .map(n => ({ n, m: CHECKPOINT.exec(n) }))
    .filter(x => x.m !== null)
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]))
  return steps[0]?.n ?? null
}

/**
 * The rank axis of a LoRA pair: LoRALinear holds lora_a [in, rank] and lora_b [rank, out];
 * LoRASwitchLinear (mixture-of-experts) lora_a [experts, rank, in] and lora_b [experts, out, rank]
 * (ml-explore/mlx-lm v0.32.2 mlx_lm/tuner/lora.py).
 */
function loraRanks(a: TensorInfo, b: TensorInfo): [number, number] {
  if (a.shape.length === 3) return [a.shape[1], b.shape[2]]
  return [a.shape[a.shape.length - 1], b.shape[b.shape.length - 2]]
}

/** Every lora_a has its lora_b and both agree on the rank (else the file is damaged or mixed). */
function checkLoraPairs(file: string, header: SafetensorsHeader): void {
  for (const [name, info] of Object.entries(header.tensors)) {
    const m = /^(.*)\.lora_(a|b)$/.exec(name)
    if (!m) continue
    const other = header.tensors[`${m[1]}.lora_${m[2] === 'a' ? 'b' : 'a'}`]
    const [a, b] = m[2] === 'a' ? [info, other] : [other, info]
    const [rankA, rankB] = a && b ? loraRanks(a, b) : [undefined, undefined]
    if (!a || !b || rankA !== rankB) {
      throw new ActionError({
        problem: `${file} has ${!a || !b ? `${name} without its lora_${m[2] === 'a' ? 'b' : 'a'}` : `${m[1]}.lora_a of rank ${rankA} but lora_b of rank ${rankB}`}, so it is damaged or mixes two trainings`,
        fix: `copy a complete checkpoint (NNNNNNN_adapters.safetensors) over it, or train again`
      })
    }
  }
}

const LORA_SUFFIX = /\.(lora_a|lora_b|m)$/

/**
 * Refuses adapters trained for another model: every adapted layer must exist in the local base
 * with matching shapes, and the first mismatch is named. MLX's LoRALinear holds lora_a as
 * [input_dims, rank] and lora_b as [rank, output_dims] for a base weight [output_dims, input_dims]
 * (LoRAEmbedding: lora_a [num_embeddings, rank], lora_b [rank, dims]); DoRA adds m [output_dims];
 * a full fine-tune stores the base's own tensor names and shapes. A packed (quantized) base weight
 * is U32 [output_dims, input_dims * bits / 32], so its input size is unpacked with the layer's bits.
 * Mixture-of-experts layers (`switch_mlp`, LoRASwitchLinear: lora_a [experts, rank, in], lora_b
 * [experts, out, rank]) fit a stacked base weight [experts, out, in] (MLX layout) or the
 * per-expert weights of a Hugging Face layout base, which mlx_lm stacks on load (experts.ts).
 */
export async function checkAdaptersFitBase(
  adapterFile: string,
  adapters: SafetensorsHeader,
  baseDir: string
): Promise<void> {
  const config = await readModelConfig(baseDir)
  const base: Record<string, TensorInfo> = {}
  for (const file of await listWeightFiles(baseDir)) {
    Object.assign(base, (await readSafetensorsHeader(file)).tensors)
  }
  const fix = `these adapters were trained for another model; point base-model at the model they were trained on, or adapter-path at adapters trained on ${baseDir}`
  const shape = (s: readonly number[]): string => `[${s.join(', ')}]`
  for (const [name, info] of Object.entries(adapters.tensors)) {
    const suffix = LORA_SUFFIX.exec(name)
    if (!suffix) {
      const twin = base[name] ?? perExpertWeight(name.replace(/\.weight$/, ''), base)
      if (!twin)
        throw new ActionError({
          problem: `${adapterFile} holds ${name}, which the base model has not`,
          fix
        })
      if (shape(twin.shape) !== shape(info.shape)) {
        throw new ActionError({
          problem: `${adapterFile} holds ${name} with shape ${shape(info.shape)} but the base model's is ${shape(twin.shape)}`,
          fix
        })
      }
      continue
    }
    const layer = name.slice(0, suffix.index)
    const weight = base[`${layer}.weight`] ?? perExpertWeight(layer, base)
    if (!weight) {
      throw new ActionError({
        problem: `${adapterFile} adapts ${layer}, which the base model ${baseDir} has not (no tensor ${layer}.weight)`,
        fix
      })
    }
    if (weight.shape.length === 3 && suffix[1] !== 'm') {
      checkExpertLora(adapterFile, name, suffix[1], info, layer, weight, base, config, fix)
      continue
    }
    if (weight.shape.length !== 2 || info.shape.length > 2) continue
    const dims = linearDims(layer, weight, base, config)
    const embedding = /(^|\.)(embed_tokens|wte|word_embeddings|tok_embeddings)$/.test(layer)
    const rows = embedding ? dims.out : dims.in // lora_a's first dimension
    const cols = embedding ? dims.in : dims.out // lora_b's last dimension
    const kind = suffix[1]
    const want =
      kind === 'lora_a'
        ? { axis: 0, size: rows, what: `${rows ?? '?'} x rank` }
        : kind === 'lora_b'
          ? { axis: 1, size: cols, what: `rank x ${cols ?? '?'}` }
          : { axis: 0, size: dims.out, what: `${dims.out}` }
    const expectedRank = kind === 'm' ? 1 : 2
    if (
      info.shape.length !== expectedRank ||
      (want.size !== null && info.shape[want.axis] !== want.size)
    ) {
      throw new ActionError({
        problem: `${adapterFile} has ${name} with shape ${shape(info.shape)}, but for the base model's ${layer} (${weight.dtype} ${shape(weight.shape)}) it must be ${want.what}`,
        fix
      })
    }
  }
}

/** lora_a [experts, rank, in] or lora_b [experts, out, rank] against a stacked [experts, out, in]. */
function checkExpertLora(
  adapterFile: string,
  name: string,
  kind: string,
  info: TensorInfo,
  layer: string,
  weight: TensorInfo,
  base: Record<string, TensorInfo>,
  config: ModelConfig,
  fix: string
): void {
  const experts = weight.shape[0]
  const dims = linearDims(layer, weight, base, config)
  const [axis, size, what] =
    kind === 'lora_a'
      ? [2, dims.in, `${experts} x rank x ${dims.in ?? '?'}`]
      : [1, dims.out, `${experts} x ${dims.out} x rank`]
  if (
    info.shape.length !== 3 ||
    info.shape[0] !== experts ||
    (size !== null && info.shape[axis] !== size)
  ) {
    const s = (shape: readonly number[]): string => `[${shape.join(', ')}]`
    throw new ActionError({
      problem: `${adapterFile} has ${name} with shape ${s(info.shape)}, but for the base model's ${layer} (${weight.dtype} ${s(weight.shape)}) it must be ${what}`,
      fix
    })
  }
}

/**
 * Output and input sizes of a base Linear (the last two axes: a stacked expert weight has the
 * experts first), unpacking a quantized weight; input null when unknown.
 */
function linearDims(
  layer: string,
  weight: TensorInfo,
  base: Record<string, TensorInfo>,
  config: ModelConfig
): { out: number; in: number | null } {
  const [out, cols] = weight.shape.slice(-2)
  if (weight.dtype !== 'U32' || !base[`${layer}.scales`]) return { out, in: cols }
  const own = config.layerBits.get(layer)
  const bits = typeof own === 'number' ? own : config.quantization.bits
  if (bits !== null && (32 * cols) % bits === 0) return { out, in: (32 * cols) / bits }
  const scales = base[`${layer}.scales`].shape
  const group = config.layerGroupSizes.get(layer) ?? config.quantization.groupSize
  return { out, in: group !== null ? scales[scales.length - 1] * group : null }
}
