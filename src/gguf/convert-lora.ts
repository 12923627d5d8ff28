/**
 * Converts a PEFT LoRA folder (written by peft.ts from MLX adapters) to a LoRA-only GGUF with
 * llama.cpp's convert_lora_to_gguf.py, against a local Hugging Face model folder of the base (only
 * its config is read: `--base`, so the Hub is never asked). ggml-org/llama.cpp v0.4.0
 * `convert_lora_to_gguf.py`: positional `lora_path`, `--base`, `--outfile`, `--outtype`.
 */
import * as path from 'node:path'

import { exists, fileSize } from '../core/folders.js'
import { discard } from '../core/workspace.js'
import { runPythonStep } from '../core/python.js'
import { describeExit } from '../core/run.js'
import { ActionError } from '../core/types.js'

export interface ConvertLoraOptions {
  /** The `convert-python` interpreter. */
  python: string
  /** `<llama.cpp checkout>/convert_lora_to_gguf.py`. */
  script: string
  /** The PEFT folder: adapter_config.json and adapter_model.safetensors. */
  peftDir: string
  /** A Hugging Face style folder of the base model (config.json is what is read). */
  baseDir: string
  outFile: string
  outType: 'f32' | 'f16' | 'bf16' | 'q8_0'
}

/** Converts; returns the command line it ran (interpreter first). A failure removes the partial file. */
export async function convertLoraToGguf(opts: ConvertLoraOptions): Promise<string[]> {
  if (!(await exists(opts.script))) {
    throw new ActionError({
      problem: `The llama.cpp checkout has no ${opts.script}`,
      fix: 'set llama-cpp-dir to a llama.cpp source checkout that contains convert_lora_to_gguf.py, or set gguf-adapter to false'
    })
  }
  const args = [
    path.resolve(opts.script),
    '--base',
    path.resolve(opts.baseDir),
    '--outfile',
    path.resolve(opts.outFile),
    '--outtype',
    opts.outType,
    path.resolve(opts.peftDir)
  ]
  const hint =
    'check that the adapters were trained on base-model and that convert-python has llama.cpp requirements/requirements-convert_lora_to_gguf.txt installed'
  const result = await runPythonStep({
    title: `Converting the LoRA adapters to a LoRA GGUF (${opts.outType})`,
    tool: 'convert_lora_to_gguf.py',
    bin: opts.python,
    args,
    cleanup: [opts.outFile],
    hint,
    cannotStart: message => ({
      problem: `Could not start the convert-python interpreter '${opts.python}' (${message})`,
      fix: "set convert-python to a Python with llama.cpp's conversion requirements"
    }),
    failure: r => ({
      problem: `convert_lora_to_gguf.py ${describeExit(r)} converting ${opts.peftDir} (last output: ${r.tail.last()})`,
      fix: hint
    })
  })
  if (!(await fileSize(opts.outFile))) {
    await discard(opts.outFile)
    throw new ActionError({
      problem: `convert_lora_to_gguf.py exited 0 but wrote no ${opts.outFile} (last output: ${result.tail.last()})`,
      fix: `check that convert-python runs llama.cpp's real converter`
    })
  }
  return [opts.python, ...args]
}
