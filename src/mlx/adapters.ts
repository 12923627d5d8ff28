/** Validation of the adapter directory written by `mlx_lm.lora`, before any expensive work. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { ActionError } from '../types.js'

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

export async function validateAdapters(dir: string): Promise<AdapterInfo> {
  const stat = await fs.stat(dir).catch(() => null)
  if (!stat?.isDirectory()) {
    throw new ActionError(
      `Input adapter-path "${dir}" is not a directory; point it at the folder mlx_lm.lora wrote (its --adapter-path, "adapters" by default).`
    )
  }
  const configFile = path.join(dir, 'adapter_config.json')
  const text = await fs.readFile(configFile, 'utf8').catch(() => null)
  if (text === null) {
    throw new ActionError(
      `Input adapter-path "${dir}" has no adapter_config.json; point it at the folder mlx_lm.lora wrote, which holds adapter_config.json and adapters.safetensors.`
    )
  }
  let config: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error()
    config = parsed as Record<string, unknown>
  } catch {
    throw new ActionError(
      `${configFile} is not a JSON object; restore the adapter_config.json that mlx_lm.lora wrote.`
    )
  }
  if ('lora_layers' in config || 'use_dora' in config) {
    throw new ActionError(
      `${configFile} comes from an old mlx-lm (it uses "lora_layers"/"use_dora"), which current mlx_lm fuse cannot load; rename "lora_layers" to "num_layers" and replace "use_dora" with "fine_tune_type": "lora" or "dora".`
    )
  }
  const fineTuneType = config.fine_tune_type ?? 'lora'
  if (!FINE_TUNE_TYPES.includes(fineTuneType as (typeof FINE_TUNE_TYPES)[number])) {
    throw new ActionError(
      `${configFile} has fine_tune_type ${JSON.stringify(fineTuneType)}; mlx_lm fuse accepts lora, dora or full.`
    )
  }
  if (fineTuneType !== 'full') checkLoraKeys(config, configFile)
  const weights = path.join(dir, 'adapters.safetensors')
  const weightsStat = await fs.stat(weights).catch(() => null)
  if (!weightsStat?.isFile()) {
    const newest = await newestCheckpoint(dir)
    const hint = newest
      ? `only numbered checkpoints exist; the newest is ${newest}: copy it to adapters.safetensors to fuse it, or let training finish`
      : 'let mlx_lm.lora finish training, which writes it'
    throw new ActionError(`${weights} does not exist: ${hint}.`)
  }
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
    throw new ActionError(
      `${configFile} has no numeric "num_layers", which mlx_lm fuse needs to know how many layers were adapted; ${written}: use the adapter_config.json from the training run, or add "num_layers" with the --num-layers value you trained with.`
    )
  }
  const lora = config.lora_parameters
  if (typeof lora !== 'object' || lora === null || Array.isArray(lora)) {
    throw new ActionError(
      `${configFile} has no "lora_parameters" object, which mlx_lm fuse needs for the adapters' rank and scale; ${written}: use the adapter_config.json from the training run.`
    )
  }
  const missing = LORA_PARAMETER_KEYS.find(
    k => typeof (lora as Record<string, unknown>)[k] !== 'number'
  )
  if (missing) {
    throw new ActionError(
      `${configFile} has no numeric "lora_parameters.${missing}", which mlx_lm fuse reads; ${written}: use the adapter_config.json from the training run.`
    )
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
