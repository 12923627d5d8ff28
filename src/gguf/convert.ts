/** Converts a full-precision model folder to one GGUF file with llama.cpp's convert_hf_to_gguf.py. */
import * as path from 'node:path'

import { exists, fileSize } from '../core/folders.js'
import { clearForOutput, discard } from '../core/workspace.js'
import { ActionError } from '../core/types.js'
import { CONVERT_OUTTYPES } from './quant-types.js'
import { describeExit } from '../core/run.js'
import { runPythonStep } from '../core/python.js'

export type ConvertOutType = 'f16' | 'bf16' | 'f32' | 'q8_0'

export interface ConvertOptions {
  /** The `convert-python` interpreter (needs torch, transformers, gguf-py's requirements). */
  python: string
  /** `<llama.cpp checkout>/convert_hf_to_gguf.py`. */
  script: string
  /** The fused (de-quantized) Hugging Face style model directory. */
  modelDir: string
  outFile: string
  outType: ConvertOutType
}

/** What to tell the user for a failure the converter's output explains. */
function convertHint(output: string): string {
  const arch = /Model (\S+) is not supported/.exec(output)
  if (arch) {
    return `this llama.cpp checkout cannot convert architecture ${arch[1]}: pick a newer llama-cpp-ref or drop the gguf input`
  }
  if (/Can not map tensor '[^']*\.(scales|biases)'/.test(output)) {
    return 'the fused model still holds MLX-quantized weights (.scales/.biases), which convert_hf_to_gguf.py cannot read: turn de-quantizing on for the fuse so the GGUF path gets a 16-bit model'
  }
  const mod = /No module named '([^']+)'/.exec(output)
  if (mod) {
    return `the convert-python interpreter lacks the Python package '${mod[1]}': install llama.cpp's requirements/requirements-convert_hf_to_gguf.txt into it or point convert-python at one that has them`
  }
  return 'read the converter output above, and check that convert-python has llama.cpp requirements/requirements-convert_hf_to_gguf.txt installed'
}

/**
 * Converts a Hugging Face style model directory to one GGUF file with llama.cpp's
 * convert_hf_to_gguf.py, streaming its output in a log group. A failure removes the partial file.
 * Returns the command line it ran (interpreter first).
 */
export async function convertToGguf(opts: ConvertOptions): Promise<string[]> {
  if (!(await exists(opts.script))) {
    throw new ActionError({
      problem: `The llama.cpp checkout has no ${opts.script}`,
      fix: `set llama-cpp-dir to a llama.cpp source checkout that contains convert_hf_to_gguf.py`
    })
  }
  await clearForOutput(opts.outFile)
  const args = [
    path.resolve(opts.script),
    path.resolve(opts.modelDir),
    '--outfile',
    path.resolve(opts.outFile),
    '--outtype',
    opts.outType
  ]
  // In a folder the action owns; a script's own folder, not the working directory, leads sys.path.
  const result = await runPythonStep({
    title: `Converting ${path.basename(opts.modelDir)} to GGUF (${opts.outType})`,
    tool: 'convert_hf_to_gguf.py',
    bin: opts.python,
    args,
    cleanup: [opts.outFile],
    hint: convertHint(''),
    cannotStart: message => ({
      problem: `Could not start the convert-python interpreter '${opts.python}' (${message})`,
      fix: "set convert-python to a Python with llama.cpp's conversion requirements"
    }),
    failure: r => ({
      problem: `convert_hf_to_gguf.py ${describeExit(r)} converting ${opts.modelDir} (last output: ${r.tail.last()})`,
      fix: convertHint(r.tail.text())
    })
  })
  if (!(await fileSize(opts.outFile))) {
    await discard(opts.outFile)
    throw new ActionError({
      problem: `convert_hf_to_gguf.py exited 0 but wrote no ${opts.outFile} (last output: ${result.tail.last()})`,
      fix: `check that convert-python runs llama.cpp's real converter`
    })
  }
  return [opts.python, ...args]
}

/**
 * The 16-bit type to convert to before llama-quantize: BF16 weights stay bf16, F16 stays f16,
 * F32 (or unknown) goes to f16 so the intermediate file is half the size.
 */
export function intermediateOutType(floatDtype: string | null): 'bf16' | 'f16' | 'f32' {
  switch ((floatDtype ?? '').toUpperCase()) {
    case 'BF16':
      return 'bf16'
    default:
      return 'f16'
  }
}

/**
 * When exactly one GGUF type is asked for and convert_hf_to_gguf.py writes it itself
 * (F16, BF16, F32, Q8_0), the `--outtype` to use; otherwise null (convert, then quantize).
 */
export function directOutType(types: readonly string[]): ConvertOutType | null {
  if (types.length !== 1) return null
  const upper = types[0].trim().toUpperCase()
  if (!CONVERT_OUTTYPES.includes(upper)) return null
  return upper.toLowerCase() as ConvertOutType
}
