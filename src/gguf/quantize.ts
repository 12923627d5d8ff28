/** Quantizes a converted GGUF with llama-quantize; a failure gets a plain-words hint. */
import * as path from 'node:path'

import { exists, fileSize } from '../core/folders.js'
import { clearForOutput, discard } from '../core/workspace.js'
import { ActionError } from '../core/types.js'
import { needsImatrix } from './quant-types.js'
import { describeExit, runStep } from '../core/run.js'

export interface QuantizeOptions {
  /** llama-quantize. */
  bin: string
  /** The 16-bit (or F32) GGUF from convert_hf_to_gguf.py. */
  input: string
  output: string
  /** A type llama-quantize lists, e.g. `Q4_K_M`. */
  type: string
  /** The `imatrix` input, passed as `--imatrix`. */
  imatrix?: string
}

/** A plain-words next step for a failed llama-quantize run, from its output. */
export function quantizeHint(output: string, type: string): string {
  if (/invalid f?type/i.test(output)) {
    return `'${type}' is not a type this llama-quantize knows: fix the gguf input`
  }
  if (/requires an importance matrix|requires an imatrix|Missing importance matrix/i.test(output)) {
    return needsImatrix(type)
  }
  if (/failed to load imatrix|imatrix/i.test(output) && /imatrix/i.test(output)) {
    return 'check that the imatrix input is an importance-matrix file made with llama-imatrix for this model'
  }
  if (/requantizing from type/i.test(output)) {
    return 'the converted GGUF is already quantized: convert to F16/BF16 first'
  }
  return 'read the llama-quantize output above'
}

/**
 * Quantizes a GGUF with llama-quantize (`[--imatrix F] IN OUT TYPE`), streaming its output in a
 * log group. A failure removes the partial output and names the exit code and the last lines.
 * Returns the command line it ran.
 */
export async function quantizeGguf(opts: QuantizeOptions): Promise<string[]> {
  if (!(await exists(opts.input))) {
    throw new ActionError({
      problem: `llama-quantize input ${opts.input} does not exist`,
      fix: `the conversion to GGUF did not write it`
    })
  }
  if (opts.imatrix !== undefined && opts.imatrix !== '' && !(await exists(opts.imatrix))) {
    throw new ActionError({
      problem: `Input imatrix is "${opts.imatrix}", which does not exist`,
      fix: `fix the path`
    })
  }
  await clearForOutput(opts.output)
  const args = [
    ...(opts.imatrix ? ['--imatrix', opts.imatrix] : []),
    opts.input,
    opts.output,
    opts.type
  ]
  const result = await runStep({
    title: `Quantizing ${path.basename(opts.input)} to ${opts.type}`,
    tool: 'llama-quantize',
    bin: opts.bin,
    args,
    cleanup: [opts.output],
    hint: 'check the llama.cpp build',
    cannotStart: message => ({
      problem: `Could not start ${opts.bin} (${message}): the llama.cpp build is missing llama-quantize`,
      fix: 'set llama-cpp-dir to a built checkout or leave it empty'
    }),
    failure: r => ({
      problem: `llama-quantize ${describeExit(r)} making ${opts.type} from ${path.basename(opts.input)} (last output: ${r.tail.last()})`,
      fix: quantizeHint(r.tail.text(), opts.type)
    })
  })
  if (!(await fileSize(opts.output))) {
    await discard(opts.output)
    throw new ActionError({
      problem: `llama-quantize exited 0 but wrote no ${opts.output} (last output: ${result.tail.last()})`,
      fix: `check the llama.cpp build`
    })
  }
  return [opts.bin, ...args]
}
