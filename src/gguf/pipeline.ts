/**
 * The GGUF outputs: a full-precision source, one conversion, one llama-quantize per type (or the
 * `auto` choice), each file verified, smoke-tested, measured and moved into gguf-dir.
 */
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { createReadStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { ensureFreeSpace } from '../disk.js'
import type { GgufConfig } from '../inputs.js'
import { makeStaging, runFuse, type FuseRequest } from '../mlx/fuse.js'
import { estimateFullPrecisionBytes } from '../mlx/precision.js'
import { checkDequantizeSupport } from '../mlx/python.js'
import { inspectWeights } from '../mlx/weights.js'
import { formatSize } from '../size.js'
import {
  ActionError,
  type BudgetEntry,
  type Diagnosis,
  type MeasuredOutput,
  type WeightStats
} from '../types.js'
import { chooseAuto, type AutoChoice } from './auto.js'
import { convertToGguf, directOutType, intermediateOutType } from './convert.js'
import { predictQuantizedSize } from './predict.js'
import { quantizeGguf } from './quantize.js'
import { smokeTest } from './smoke.js'
import type { LlamaCpp } from './toolchain.js'
import { verifyGguf } from './verify.js'

export interface GgufSetup {
  config: GgufConfig
  llama: LlamaCpp
  /** Canonical type names to make (empty with auto). */
  types: string[]
  convertPython: string
}

export interface GgufSource {
  /** A full-precision fuse to convert (the MLX output itself, or a kept staging copy), or null. */
  fullPrecisionDir: string | null
  /** The base's bits when the base was quantized (for the quality note), else null. */
  baseBits: number | null
  /** What mlx_lm fuse wrote first: the weights of fullPrecisionDir when that is set. */
  fusedStats: WeightStats
}

export interface GgufResult {
  outputs: MeasuredOutput[]
  commands: Array<{ what: string; argv: string[] }>
  diagnoses: Diagnosis[]
  notes: string[]
  /** Where the intermediates were kept (keep-intermediates: true), else null. */
  keptIntermediates: string | null
  /** What gguf: auto predicted, measured and chose, else null. */
  auto: Omit<AutoChoice, 'file'> | null
}

const fileName = (g: GgufConfig, type: string): string => `${g.stem}-${type}.gguf`

export async function produceGguf(
  setup: GgufSetup,
  source: GgufSource,
  fuseReq: FuseRequest,
  budgets: readonly BudgetEntry[]
): Promise<GgufResult> {
  const g = setup.config
  const work = await makeStaging(g.dir, 'work')
  const result: GgufResult = {
    outputs: [],
    commands: [],
    diagnoses: [],
    notes: [],
    keptIntermediates: null,
    auto: null
  }
  try {
    const modelDir =
      source.fullPrecisionDir ?? (await dequantizedFuse(fuseReq, work, result, source))
    const stats = source.fullPrecisionDir ? source.fusedStats : await inspectWeights(modelDir)
    await ensureFreeSpace(work, estimateFullPrecisionBytes(stats), 'the 16-bit GGUF conversion')

    const direct = g.auto ? null : directOutType(setup.types)
    const convertType = direct ?? intermediateOutType(stats.floatDtype)
    const converted = path.join(work, fileName(g, convertType.toUpperCase()))
    const convertArgv = await convertToGguf({
      python: setup.convertPython,
      script: setup.llama.convertScript,
      modelDir,
      outFile: converted,
      outType: convertType
    })
    result.commands.push({ what: 'Convert', argv: convertArgv })

    const made = new Map<string, string>() // type -> file in work
    if (direct) {
      made.set(setup.types[0], converted)
    } else if (g.auto) {
      const choice = await chooseAuto(
        setup.llama,
        converted,
        budgets,
        g.imatrix,
        (type, predicted) => quantizeTo(setup, converted, work, type, predicted, result)
      )
      made.set(choice.type, choice.file)
      result.notes.push(autoNote(choice))
      result.auto = {
        type: choice.type,
        candidates: choice.candidates,
        budgetText: choice.budgetText
      }
    } else {
      const intermediate = convertType.toUpperCase()
      for (const type of setup.types) {
        if (type === intermediate) continue
        const predicted = await predictQuantizedSize({
          bin: setup.llama.quantize,
          input: converted,
          type,
          imatrix: g.imatrix ?? undefined,
          supportsDryRun: setup.llama.types.dryRun
        })
        made.set(type, await quantizeTo(setup, converted, work, type, predicted.bytes, result))
      }
      if (setup.types.includes(intermediate)) made.set(intermediate, converted)
    }

    const checked: MeasuredOutput[] = []
    for (const type of setup.types.length ? setup.types : [...made.keys()]) {
      checked.push(await checkOutput(setup, made.get(type)!, type))
    }
    // Only files that passed every check reach gguf-dir.
    await fs.mkdir(g.dir, { recursive: true })
    for (const output of checked) {
      const final = path.join(g.dir, fileName(g, output.name))
      await fs.rename(output.path, final)
      result.outputs.push({ ...output, path: final })
    }
    if (g.keepIntermediates) {
      result.keptIntermediates = `${g.dir}.intermediates`
      await fs.rm(result.keptIntermediates, { recursive: true, force: true })
      await fs.rename(work, result.keptIntermediates)
      result.notes.push(
        `Intermediates kept in <code>${result.keptIntermediates}</code> (keep-intermediates: true).`
      )
    } else {
      await fs.rm(work, { recursive: true, force: true })
    }
    return result
  } catch (error) {
    await fs.rm(work, { recursive: true, force: true })
    throw error
  }
}

/** A quantized MLX output cannot be converted: fuse again, de-quantized, for the GGUF path only. */
async function dequantizedFuse(
  req: FuseRequest,
  work: string,
  result: GgufResult,
  source: GgufSource
): Promise<string> {
  checkDequantizeSupport(req.env, true)
  const need = estimateFullPrecisionBytes(source.fusedStats)
  await ensureFreeSpace(work, need, 'the de-quantized fuse for GGUF')
  const dir = path.join(work, 'fused-full-precision')
  const argv = await runFuse({ ...req, dequantize: true }, dir)
  result.commands.push({ what: 'Fuse for GGUF (de-quantized)', argv })
  if (source.baseBits !== null) {
    result.diagnoses.push({
      level: 'notice',
      title: `The GGUF files are re-quantized from ${source.baseBits}-bit weights`,
      text: `The base model was ${source.baseBits}-bit, so the de-quantized fuse that llama.cpp converts carries ${source.baseBits}-bit rounding, and each GGUF type rounds it again. A full-precision base model gives better GGUF quality.`
    })
  }
  return dir
}

async function quantizeTo(
  setup: GgufSetup,
  input: string,
  work: string,
  type: string,
  predictedBytes: number,
  result: GgufResult
): Promise<string> {
  await ensureFreeSpace(work, predictedBytes, `the ${type} GGUF file`)
  const output = path.join(work, fileName(setup.config, type))
  const argv = await quantizeGguf({
    bin: setup.llama.quantize,
    input,
    output,
    type,
    imatrix: setup.config.imatrix ?? undefined
  })
  result.commands.push({ what: `Quantize ${type}`, argv })
  return output
}

/** Verifies, smoke-tests and measures one file; a bad file is deleted, never reported. */
async function checkOutput(setup: GgufSetup, file: string, type: string): Promise<MeasuredOutput> {
  try {
    const facts = await verifyGguf(file, type)
    if (setup.config.smokeTest) {
      const smoke = await smokeTest({ bin: setup.llama.generator, model: file, tokens: 8 })
      const count = smoke.tokens === null ? 'text' : `${smoke.tokens} tokens`
      const excerpt = smoke.excerpt === '' ? '' : `: "${smoke.excerpt}"`
      const note = smoke.excerpt.includes('\\x')
        ? ' (bytes that are not UTF-8 text shown as \\xNN)'
        : ''
      core.info(
        `${type}: llama.cpp loaded it and generated ${count} in ${smoke.ms} ms${excerpt}${note}.`
      )
    }
    return {
      name: type,
      kind: 'gguf',
      path: file,
      bytes: facts.bytes,
      files: 1,
      format: `GGUF ${type} (${facts.architecture})`,
      parameters: facts.parameters,
      bitsPerWeight: facts.parameters > 0 ? (facts.bytes * 8) / facts.parameters : null,
      sha256: await sha256(file)
    }
  } catch (error) {
    await fs.rm(file, { force: true })
    if (error instanceof ActionError) throw error
    throw new ActionError(
      `Checking ${path.basename(file)} failed (${(error as Error).message}); the file was removed, run again.`
    )
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

function autoNote(choice: AutoChoice): string {
  const rows = choice.candidates.map(
    c =>
      `<li><code>${c.type}</code>: predicted ${formatSize(c.predictedBytes)} (${c.method})${c.measuredBytes !== undefined ? `, measured ${formatSize(c.measuredBytes)}` : ''}${c.type === choice.type ? ' ← chosen' : ''}</li>`
  )
  return `<b>gguf: auto</b> chose <code>${choice.type}</code>, the best-quality type that fits ${choice.budgetText}. Candidates:<ul>${rows.join('')}</ul>`
}
