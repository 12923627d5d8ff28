/**
 * The size of the file llama-quantize will write, before it runs: exact from `--dry-run` and the
 * input's header, else an estimate from bits per weight.
 */
import * as path from 'node:path'

import { ActionError } from '../core/types.js'
import { GGUF_DEFAULT_ALIGNMENT, ggmlTypeById, ggmlTypeByName, padTo, tensorBytes } from './ggml.js'
import { probe, runStep } from '../core/run.js'
import { quantizeHint } from './quantize.js'
import { readGgufHeader, type GgufHeader } from './verify.js'
import { parseQuantizeHelp, TYPE_ALIASES } from './quant-types.js'
import * as log from '../core/log.js'

/**
 * Bits per weight of a whole file of each type, for the estimate when llama-quantize has no
 * `--dry-run`: from llama-quantize's own table (GiB on Llama-3-8B, 8.03e9 parameters) or the
 * bpw it states; F16/BF16/F32 exact.
 */
const ESTIMATE_BPW: Readonly<Record<string, number>> = {
  F32: 32,
  F16: 16,
  BF16: 16,
  Q8_0: 8.51,
  Q6_K: 6.57,
  Q5_K_M: 5.7,
  Q5_K_S: 5.57,
  Q5_1: 6.04,
  Q5_0: 5.57,
  Q4_K_M: 4.9,
  Q4_K_S: 4.67,
  Q4_1: 5.11,
  Q4_0: 4.64,
  IQ4_NL: 4.5,
  IQ4_XS: 4.25,
  Q3_K_L: 4.31,
  Q3_K_M: 4.0,
  Q3_K_S: 3.65,
  IQ3_M: 3.66,
  IQ3_S: 3.44,
  IQ3_XS: 3.3,
  IQ3_XXS: 3.06,
  Q2_K: 3.17,
  Q2_K_S: 3.17,
  IQ2_M: 2.7,
  IQ2_S: 2.5,
  IQ2_XS: 2.31,
  IQ2_XXS: 2.06,
  IQ1_M: 1.75,
  IQ1_S: 1.56,
  TQ2_0: 2.06,
  TQ1_0: 1.69,
  Q2_0: 2.25,
  Q1_0: 1.125,
  MXFP4_MOE: 4.25
}
export interface SizePrediction {
  bytes: number
  method: 'dry-run' | 'estimate'
}

const DRY_RUN_LINE =
  /^\[\s*\d+\/\s*\d+\]\s+(\S+)\s+-\s+\[[^\]]*\],\s*type\s*=\s*(\S+?),\s*size\s*=\s*[\d.]+\s*MiB(?:\s*->\s*[\d.]+\s*MiB\s*\((\S+)\))?/

/** Each tensor's planned type from `llama-quantize --dry-run` output (tensor name -> ggml type name). */
export function parseDryRun(text: string): Map<string, string> {
  const planned = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const m = DRY_RUN_LINE.exec(line.trim())
    if (m) planned.set(m[1], m[3] ?? m[2])
  }
  return planned
}

/** Bytes one GGUF KV entry takes for a scalar of the given GGUF value type. */
function scalarKvBytes(key: string, valueType: number, value: unknown): number {
  const stringBytes = Buffer.isBuffer(value) ? value.length : Buffer.byteLength(String(value))
  const keyBytes = 8 + Buffer.byteLength(key)
  const sizes: Record<number, number> = {
    0: 1,
    1: 1,
    2: 2,
    3: 2,
    4: 4,
    5: 4,
    6: 4,
    7: 1,
    10: 8,
    11: 8,
    12: 8
  }
  if (valueType === 8) return keyBytes + 4 + 8 + stringBytes
  return keyBytes + 4 + (sizes[valueType] ?? 4)
}

/**
 * The exact size of the file `llama-quantize IN OUT TYPE` will write, from `--dry-run` (each
 * tensor's planned type) and the input's header: llama-quantize copies every KV pair, sets
 * `general.quantization_version` and `general.file_type` as u32, keeps the tensor table (same
 * names and shapes) and pads the header and every tensor to 32 bytes. Without `--dry-run`
 * (older checkouts): an estimate from the parameter count and the type's bits per weight.
 */
export async function predictQuantizedSize(opts: {
  bin: string
  input: string
  type: string
  /** The `imatrix` input: it changes some tensors' types and adds quantize.imatrix.* keys. */
  imatrix?: string
  /** Skips running `--help` when the caller already knows (QuantizeTypes.dryRun). */
  supportsDryRun?: boolean
}): Promise<SizePrediction> {
  const type = opts.type.trim().toUpperCase()
  let dryRun = opts.supportsDryRun
  if (dryRun === undefined) {
    dryRun = parseQuantizeHelp((await probe(opts.bin, ['--help'])).out).dryRun
  }
  const header = await readGgufHeader(opts.input)

  if (dryRun) {
    const imatrixArgs = opts.imatrix ? ['--imatrix', opts.imatrix] : []
    const run = await runStep({
      tool: 'llama-quantize --dry-run',
      bin: opts.bin,
      args: ['--dry-run', ...imatrixArgs, opts.input, type],
      silent: true,
      hint: 'check the llama.cpp build',
      failure: r => ({
        problem: `llama-quantize --dry-run failed with exit code ${r.code} for ${type} on ${path.basename(opts.input)} (last output: ${r.tail.last(4)})`,
        fix: quantizeHint(r.output, type)
      })
    })
    const output = run.stdout + '\n' + run.stderr
    const planned = parseDryRun(output)
    const bytes = exactSize(header, planned, headerChanges(output, opts.imatrix))
    if (bytes !== null) return { bytes, method: 'dry-run' }
    log.info(
      `llama-quantize --dry-run output did not cover every tensor of ${path.basename(opts.input)}; estimating instead`
    )
  }

  const bpw = ESTIMATE_BPW[TYPE_ALIASES[type] ?? type]
  if (bpw === undefined) {
    throw new ActionError({
      problem: `No size estimate is known for GGUF type ${type}`,
      fix: `budget it from a real run or pick a listed type`
    })
  }
  return {
    bytes: Math.ceil(header.tensorDataOffset + (header.parameters * bpw) / 8),
    method: 'estimate'
  }
}

/** A KV pair llama-quantize (re)writes in its output: GGUF value type 4 (u32) or 8 (string). */
interface KvChange {
  key: string
  type: 4 | 8
  /** For a string: its value (already clipped as llama-quantize clips it). */
  value: Buffer
}

/** The KV pairs llama-quantize sets (llama-quant.cpp, and quantize.cpp for an imatrix). */
export function headerChanges(dryRunOutput: string, imatrix?: string): KvChange[] {
  const changes: KvChange[] = [
    { key: 'general.quantization_version', type: 4, value: Buffer.alloc(0) },
    { key: 'general.file_type', type: 4, value: Buffer.alloc(0) }
  ]
  if (imatrix) {
    // strncpy(kvo.val_str, ..., 127): at most 127 bytes of the path and of the dataset name
    const clip = (v: string): Buffer => Buffer.from(v).subarray(0, 127)
    changes.push({ key: 'quantize.imatrix.file', type: 8, value: clip(imatrix) })
    const dataset = /imatrix datasets=\['(.*?)'(?:, '|\])/.exec(dryRunOutput)
    if (dataset) changes.push({ key: 'quantize.imatrix.dataset', type: 8, value: clip(dataset[1]) })
    changes.push({ key: 'quantize.imatrix.entries_count', type: 4, value: Buffer.alloc(0) })
    const chunks = /computed on (-?\d+) chunks/.exec(dryRunOutput)
    if (chunks && Number(chunks[1]) > 0) {
      changes.push({ key: 'quantize.imatrix.chunks_count', type: 4, value: Buffer.alloc(0) })
    }
  }
  return changes
}

function exactSize(
  header: GgufHeader,
  planned: Map<string, string>,
  changes: KvChange[]
): number | null {
  // the input's header, each changed key removed and appended again with its new type
  let headerBytes = header.headerEnd
  for (const c of changes) {
    const existing = header.metadata[c.key]
    if (existing !== undefined) {
      headerBytes -= scalarKvBytes(c.key, header.kvTypes[c.key] ?? 4, existing)
    }
    headerBytes += scalarKvBytes(c.key, c.type, c.value)
  }
  let total = padTo(headerBytes, GGUF_DEFAULT_ALIGNMENT)
  for (const t of header.tensors) {
    const name = planned.get(t.name)
    if (name === undefined) return null
    const type = ggmlTypeByName(name) ?? ggmlTypeById(t.dtype)
    if (!type) return null
    const size = tensorBytes(type, t.shape)
    if (size === null) return null
    total += padTo(size, GGUF_DEFAULT_ALIGNMENT)
  }
  return total
}
