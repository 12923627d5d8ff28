/**
 * The GGUF outputs: a full-precision source, one conversion, one llama-quantize per type (or the
 * `auto` choice), each file verified, smoke-tested, measured and moved into gguf-dir.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { sha256File } from '../checksum.js'
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
import { splitGguf } from './split.js'
import type { LlamaCpp } from './toolchain.js'
import { verifyGguf, type GgufFacts } from './verify.js'
import * as log from '../log.js'

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
      checked.push(await checkOutput(setup, made.get(type)!, type, result))
    }
    // Only files that passed every check reach gguf-dir.
    await fs.mkdir(g.dir, { recursive: true })
    for (const output of checked) result.outputs.push(await moveInto(g.dir, output))
    if (g.keepIntermediates) {
      result.keptIntermediates = `${g.dir}.intermediates`
      await fs.rm(result.keptIntermediates, { recursive: true, force: true })
      await fs.rename(work, result.keptIntermediates)
      result.notes.push(
        `Intermediates kept in \`${result.keptIntermediates}\` (keep-intermediates: true).`
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

/** Moves a checked output (its file, or every shard) into gguf-dir under the same names. */
async function moveInto(dir: string, output: MeasuredOutput): Promise<MeasuredOutput> {
  const move = async (file: string): Promise<string> => {
    const final = path.join(dir, path.basename(file))
    await fs.rename(file, final)
    return final
  }
  if (!output.shards) return { ...output, path: await move(output.path) }
  const shards = []
  for (const shard of output.shards) shards.push({ ...shard, path: await move(shard.path) })
  return { ...output, path: shards[0].path, shards }
}

async function smoke(setup: GgufSetup, file: string, type: string): Promise<void> {
  if (!setup.config.smokeTest) return
  const r = await smokeTest({ bin: setup.llama.generator, model: file, tokens: 8 })
  const count = r.tokens === null ? 'text' : `${r.tokens} tokens`
  const excerpt = r.excerpt === '' ? '' : `: "${r.excerpt}"`
  const note = r.excerpt.includes('\\x') ? ' (bytes that are not UTF-8 text shown as \\xNN)' : ''
  log.info(
    `${type}: llama.cpp loaded ${path.basename(file)} and generated ${count} in ${r.ms} ms${excerpt}${note}.`
  )
}

/**
 * Verifies, smoke-tests and measures one file, or, when it is larger than gguf-split, splits it
 * and does the same for its shards (the smoke test loads the first, as llama.cpp loads a split
 * model); a bad file is deleted, never reported.
 */
async function checkOutput(
  setup: GgufSetup,
  file: string,
  type: string,
  result: GgufResult
): Promise<MeasuredOutput> {
  try {
    const facts = await verifyGguf(file, type)
    const limit = setup.config.split
    if (limit !== null && facts.bytes > limit) {
      return await splitOutput(setup, file, type, facts, result)
    }
    await smoke(setup, file, type)
    return {
      name: type,
      kind: 'gguf',
      path: file,
      bytes: facts.bytes,
      files: 1,
      format: `GGUF ${type} (${facts.architecture})`,
      parameters: facts.parameters,
      bitsPerWeight: facts.parameters > 0 ? (facts.bytes * 8) / facts.parameters : null,
      sha256: (await sha256File(file)).sha256
    }
  } catch (error) {
    await fs.rm(file, { force: true })
    if (error instanceof ActionError) throw error
    throw new ActionError(
      `Checking ${path.basename(file)} failed (${(error as Error).message}); the file was removed, run again.`
    )
  }
}

/** Splits a verified file into shards within gguf-split, each verified and measured. */
async function splitOutput(
  setup: GgufSetup,
  file: string,
  type: string,
  whole: GgufFacts,
  result: GgufResult
): Promise<MeasuredOutput> {
  const limit = setup.config.split!
  await ensureFreeSpace(file, whole.bytes, `the shards of ${path.basename(file)}`)
  const { shards, argv } = await splitGguf({
    bin: setup.llama.split!,
    file,
    limit,
    prefix: path.join(path.dirname(file), `${setup.config.stem}-${type}`)
  })
  result.commands.push({ what: `Split ${type}`, argv })
  const checked = []
  let tensors = 0
  let parameters = 0
  let architecture = ''
  for (const [i, shard] of shards.entries()) {
    const facts = await verifyGguf(shard, type, { index: i + 1, count: shards.length })
    tensors += facts.tensorCount
    parameters += facts.parameters
    if (i === 0) architecture = facts.architecture
    checked.push({ path: shard, bytes: facts.bytes, sha256: (await sha256File(shard)).sha256 })
  }
  if (tensors !== whole.tensorCount || parameters !== whole.parameters) {
    throw new ActionError(
      `The ${shards.length} shards of ${path.basename(file)} hold ${tensors} tensors and ${parameters} parameters, not the ${whole.tensorCount} and ${whole.parameters} of the file they were split from; run again.`
    )
  }
  await smoke(setup, shards[0], type)
  const bytes = checked.reduce((sum, s) => sum + s.bytes, 0)
  log.info(
    `${type}: split into ${shards.length} shards of at most ${formatSize(limit)} (${checked.map(s => formatSize(s.bytes)).join(', ')}).`
  )
  return {
    name: type,
    kind: 'gguf',
    path: shards[0],
    bytes,
    files: shards.length,
    format: `GGUF ${type} (${architecture}), split into ${shards.length} shards`,
    parameters,
    bitsPerWeight: parameters > 0 ? (bytes * 8) / parameters : null,
    shards: checked
  }
}

function autoNote(choice: AutoChoice): string {
  const rows = choice.candidates.map(
    c =>
      `\n\`${c.type}\`: predicted ${formatSize(c.predictedBytes)} (${c.method})${c.measuredBytes !== undefined ? `, measured ${formatSize(c.measuredBytes)}` : ''}${c.type === choice.type ? ' ← chosen' : ''}`
  )
  return `gguf: auto chose \`${choice.type}\`, the best-quality type that fits ${choice.budgetText}. Candidates:${rows.join('')}`
}
