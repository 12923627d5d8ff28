/**
 * The plan of a LoRA-only GGUF (`gguf-adapter: true`, issue 19): MLX LoRA adapters mapped to the
 * PEFT layout that llama.cpp's `convert_lora_to_gguf.py` reads. Pure: it names tensors, shapes and
 * the adapter_config.json, and writes the folder through `src/core/tensor-file.ts`.
 *
 * MLX's LoRALinear stores `<module>.lora_a` [in, r] and `<module>.lora_b` [r, out] under MLX module
 * names and adds `scale * (x @ lora_a) @ lora_b` (ml-explore/mlx-lm v0.31.3 mlx_lm/tuner/lora.py).
 * PEFT stores `base_model.model.<hf name>.lora_A.weight` [r, in] and `lora_B.weight` [out, r] and
 * adds `(lora_alpha / r) * B A x`, so each matrix is transposed and `lora_alpha = scale * r`
 * (ggml-org/llama.cpp v0.4.0 `convert_lora_to_gguf.py` reads `r`, `lora_alpha`,
 * `target_modules`, `base_model_name_or_path`).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { writeJsonFile, writeTensorFile, type TensorBytes } from '../core/tensor-file.js'
import { ActionError } from '../core/types.js'
import type { AdapterInfo } from '../mlx/adapters.js'
import { dtypeBytes, type SafetensorsHeader } from '../mlx/safetensors.js'

export interface PeftTensor {
  /** The MLX tensor name in adapters.safetensors. */
  source: string
  /** The PEFT tensor name in adapter_model.safetensors. */
  target: string
  /** The PEFT shape: the MLX shape transposed. */
  shape: [number, number]
}

export interface PeftPlan {
  /** adapter_config.json of the PEFT folder. */
  config: {
    peft_type: 'LORA'
    r: number
    lora_alpha: number
    target_modules: string[]
    base_model_name_or_path: string
    bias: 'none'
    fan_in_fan_out: false
  }
  tensors: PeftTensor[]
}

const PAIR = /^(.*)\.lora_(a|b)$/

/**
 * Plans the PEFT folder for `info`'s adapters, or refuses in one sentence what llama.cpp cannot
 * apply as a LoRA: DoRA (its magnitude vector `m` has no GGUF LoRA form), a full fine-tune (no
 * low-rank pair at all), and mixture-of-experts adapters (3-D LoRASwitchLinear pairs).
 */
export function planPeft(
  info: AdapterInfo,
  header: SafetensorsHeader,
  baseModel: string
): PeftPlan {
  const file = `${info.dir}/adapters.safetensors`
  if (info.fineTuneType !== 'lora') {
    throw new ActionError({
      problem: `Input gguf-adapter is true but adapter-path "${info.dir}" holds a ${info.fineTuneType === 'dora' ? 'DoRA' : 'full'} fine-tune, which llama.cpp cannot apply as a LoRA adapter`,
      fix: `set gguf-adapter to false and use the fused GGUF, or train with fine_tune_type lora`
    })
  }
  if (info.rank === null || info.scale === null) {
    throw new ActionError({
      problem: `Input gguf-adapter is true but ${info.dir}/adapter_config.json has no numeric lora_parameters.rank and scale, which lora_alpha is made of`,
      fix: `use the adapter_config.json from the training run`
    })
  }
  const tensors: PeftTensor[] = []
  const modules = new Set<string>()
  for (const [name, t] of Object.entries(header.tensors)) {
    const m = PAIR.exec(name)
    if (!m) {
      throw new ActionError({
        problem: `Input gguf-adapter is true but ${file} holds ${name}, which is not a LoRA pair tensor (lora_a/lora_b)`,
        fix: `set gguf-adapter to false, or train plain LoRA adapters`
      })
    }
    if (t.shape.length !== 2) {
      throw new ActionError({
        problem: `Input gguf-adapter is true but ${file} holds ${name} of shape [${t.shape.join(', ')}] (a mixture-of-experts adapter), which llama.cpp's LoRA converter cannot map`,
        fix: `set gguf-adapter to false and use the fused GGUF`
      })
    }
    modules.add(m[1].split('.').pop()!)
    tensors.push({
      source: name,
      target: `base_model.model.${m[1]}.lora_${m[2].toUpperCase()}.weight`,
      shape: [t.shape[1], t.shape[0]]
    })
  }
  if (tensors.length === 0) {
    throw new ActionError({
      problem: `Input gguf-adapter is true but ${file} holds no LoRA pairs`,
      fix: `train LoRA adapters, or set gguf-adapter to false`
    })
  }
  tensors.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
  return {
    config: {
      peft_type: 'LORA',
      r: info.rank,
      lora_alpha: info.scale * info.rank,
      target_modules: [...modules].sort(),
      base_model_name_or_path: baseModel,
      bias: 'none',
      fan_in_fan_out: false
    },
    tensors
  }
}

/** The rows×cols matrix `data` of `bytes`-wide elements, transposed to cols×rows. */
export function transpose(data: Buffer, rows: number, cols: number, bytes: number): Buffer {
  const out = Buffer.alloc(data.length)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      data.copy(out, (c * rows + r) * bytes, (r * cols + c) * bytes, (r * cols + c + 1) * bytes)
    }
  }
  return out
}

/**
 * Writes the PEFT folder of `plan` into `dir` (a new, empty folder this run made): the transposed
 * pairs read from `adaptersFile` as adapter_model.safetensors, and adapter_config.json.
 */
export async function writePeftFolder(
  dir: string,
  plan: PeftPlan,
  adaptersFile: string,
  header: SafetensorsHeader
): Promise<void> {
  const bytes = await fs.readFile(adaptersFile)
  const start = 8 + header.headerBytes
  const tensors: TensorBytes[] = plan.tensors.map(t => {
    const info = header.tensors[t.source]
    const width = dtypeBytes(info.dtype)
    if (width === null || !Number.isInteger(width)) {
      throw new ActionError({
        problem: `Input gguf-adapter is true but ${adaptersFile} holds ${t.source} as ${info.dtype}, which cannot be transposed to the PEFT layout`,
        fix: `save the adapters as float32, float16 or bfloat16`
      })
    }
    const data = bytes.subarray(start + info.dataOffsets[0], start + info.dataOffsets[1])
    return {
      name: t.target,
      dtype: info.dtype,
      shape: t.shape,
      data: transpose(data, info.shape[0], info.shape[1], width)
    }
  })
  await writeTensorFile(path.join(dir, 'adapter_model.safetensors'), tensors)
  await writeJsonFile(path.join(dir, 'adapter_config.json'), plan.config)
}
