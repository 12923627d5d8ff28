/**
 * The GGUF outputs: a full-precision source, one conversion, one llama-quantize per type (or the
 * `auto` choice), each file verified, smoke-tested, measured and moved into gguf-dir.
 */
import path from 'node:path'
import { sha256File } from '../core/checksum.js'
import type { Workspace } from '../core/workspace.js'
import type { GgufConfig } from '../core/config.js'
import { estimateFullPrecisionBytes } from '../mlx/precision.js'
import { formatSize } from '../core/size.js'
import {
  ActionError,
  type BudgetEntry,
  type FullPrecisionSource,
  type MeasuredOutput,
  type StageResult,
  type PackedStats
} from '../core/types.js'
import { chooseAuto, type AutoChoice, type AutoQuality } from './auto.js'
import { convertToGguf, directOutType, intermediateOutType } from './convert.js'
import { predictQuantizedSize } from './predict.js'
import { quantizeGguf } from './quantize.js'
import { chatTurn, endOfTurnToken, smokeTest } from './smoke.js'
import { prepareConversionSource, type SourceFacts } from './source.js'
import { splitGguf } from './split.js'
import type { LlamaCpp } from './toolchain.js'
import { prepareExperts } from './unstack.js'
import { chatWarnings, verifyGguf, type ChatFacts, type GgufFacts } from './verify.js'
import { modelfile, modelfileName } from './modelfile.js'
import * as log from '../core/log.js'
import type { AdapterGgufManifest } from './adapter.js'

/** The GGUF stage's plan, checked before any fuse; no stage changes it. */
export interface GgufSetup {
  readonly config: GgufConfig
  readonly llama: Readonly<LlamaCpp>
  /** Canonical type names to make (empty with auto). */
  readonly types: readonly string[]
  readonly convertPython: string
  /** With cache-toolchain: the summary's lines on the llama.cpp build and the converter's environment. */
  readonly toolchain?: readonly string[]
}

export interface GgufManifest {
  types: string[]
  auto: Omit<AutoChoice, 'file'> | null
  dir: string
  /** Where the intermediates were kept (keep-intermediates: true), else null. */
  intermediates: string | null
  convertPython: string
  /** gguf-adapter: the LoRA GGUF and the base GGUF it applies to (adapter.ts); absent without. */
  adapter?: AdapterGgufManifest
}

export interface GgufResult extends StageResult {
  /** What the manifest says about the GGUF path. */
  manifest: GgufManifest
}

/** Where the converted full-precision model is kept in the intermediates (keep-intermediates). */
const FULL_PRECISION = 'fused-full-precision'

const fileName = (g: GgufConfig, type: string): string => `${g.stem}-${type}.gguf`

/** One GGUF run's working state: its staging folder, the workspace and what it has made. */
interface Work {
  setup: GgufSetup
  dir: string
  ws: Workspace
  result: GgufResult
}

/**
 * Makes every GGUF output from the full-precision model the MLX stage handed over (`baseDir` is
 * the base model's folder, for its tokenizer). Owns a staged source from here on: removes it as
 * soon as the conversion succeeded (or keeps it with the intermediates), so a 16-bit fuse and a
 * 16-bit GGUF never outlive the conversion.
 */
export async function produceGguf(
  setup: GgufSetup,
  source: FullPrecisionSource,
  baseDir: string,
  budgets: readonly BudgetEntry[],
  ws: Workspace,
  autoQuality: AutoQuality | null = null
): Promise<GgufResult> {
  const g = setup.config
  const dir = await ws.stage(g.dir, 'work')
  const manifest: GgufManifest = {
    types: [...setup.types],
    auto: null,
    dir: g.dir,
    intermediates: null,
    convertPython: setup.convertPython
  }
  const work: Work = {
    setup,
    dir,
    ws,
    result: { outputs: [], commands: [], diagnoses: [], notes: [], manifest }
  }
  let owned = source.owned
  try {
    const model = source.dir
    // Two views the converter reads instead of the fused model, each made only when needed: a
    // tokenizer transformers 4.x loads, then stacked experts split per expert.
    const prepared = await prepareConversionSource(model, baseDir, dir)
    const experts = await prepareExperts(prepared.dir, dir, ws.freeBytes)
    for (const change of [...prepared.changes, ...experts.changes]) {
      log.info(`For the GGUF conversion: ${change}.`)
    }
    if (experts.bytes > 0) ws.add(path.resolve(experts.dir), experts.bytes)
    const converted = await convert(work, experts.dir, source.stats)
    for (const view of new Set([prepared.dir, experts.dir])) {
      if (view !== model) await releaseView(work, view)
    }
    if (owned) await releaseSource(work, model, owned)
    owned = null
    const made = await quantizeAll(work, converted, budgets, autoQuality)
    const checked: MeasuredOutput[] = []
    for (const type of setup.types.length ? setup.types : [...made.keys()]) {
      const output = await checkOutput(work, made.get(type)!, type, prepared.facts)
      // auto scored its choice already: the quality stage reuses the figures, not a second run.
      const scored = manifest.auto?.candidates.find(c => c.type === type)?.quality
      checked.push(scored ? { ...output, quality: scored } : output)
    }
    // Only files that passed every check reach gguf-dir.
    await ws.folder(g.dir)
    for (const output of checked) work.result.outputs.push(await moveInto(work, output))
    await finishWork(work)
    return work.result
  } catch (error) {
    return ws.failed(error, dir, owned)
  }
}

interface Converted {
  file: string
  /** The type it holds, upper case (BF16, F16, or a single requested type made directly). */
  type: string
  direct: boolean
}

/** One conversion to the 16-bit (or the single, directly requested) type. */
async function convert(work: Work, modelDir: string, stats: PackedStats): Promise<Converted> {
  const { setup } = work
  await work.ws.ensureRoom(
    work.dir,
    estimateFullPrecisionBytes(stats),
    'the 16-bit GGUF conversion'
  )
  const direct = setup.config.auto ? null : directOutType(setup.types)
  const convertType = direct ?? intermediateOutType(stats.floatDtype)
  const converted = path.join(work.dir, fileName(setup.config, convertType.toUpperCase()))
  const argv = await convertToGguf({
    python: setup.convertPython,
    script: setup.llama.convertScript,
    modelDir,
    outFile: converted,
    outType: convertType
  })
  work.result.commands.push({ what: 'Convert', argv })
  await work.ws.wrote(converted)
  return { file: converted, type: convertType.toUpperCase(), direct: direct !== null }
}

/** A view made for the converter (its tokenizer or per-expert copy) is no longer needed once converted. */
async function releaseView(work: Work, dir: string): Promise<void> {
  await work.ws.remove(path.dirname(dir))
}

/**
 * The converted source `dir` is no longer needed: its staging folder `owned` (which is or holds
 * it) is removed now, or `dir` is kept with the intermediates.
 */
async function releaseSource(work: Work, dir: string, owned: string): Promise<void> {
  if (work.setup.config.keepIntermediates) {
    const kept = path.join(work.dir, FULL_PRECISION)
    await work.ws.move(dir, kept)
    if (owned !== dir) await work.ws.removeEmptyFolder(owned) // the staging folder that held it, empty now
    return
  }
  await work.ws.remove(owned)
  log.info(`Removed the full-precision fuse ${dir}: the GGUF conversion no longer needs it.`)
}

/** Every requested type (or the auto choice) from the converted file; type -> file in work. */
async function quantizeAll(
  work: Work,
  { file: converted, type: intermediate, direct }: Converted,
  budgets: readonly BudgetEntry[],
  autoQuality: AutoQuality | null
): Promise<Map<string, string>> {
  const { setup, result } = work
  const g = setup.config
  const made = new Map<string, string>()
  if (direct) {
    made.set(setup.types[0], converted)
  } else if (g.auto) {
    const choice = await chooseAuto(
      setup.llama,
      converted,
      budgets,
      g.imatrix,
      (type, predicted) => quantizeTo(work, converted, type, predicted),
      work.ws,
      autoQuality
    )
    made.set(choice.type, choice.file)
    result.notes.push(autoNote(choice))
    result.manifest.auto = {
      type: choice.type,
      candidates: choice.candidates,
      budgetText: choice.budgetText,
      ...(choice.qualityBudget ? { qualityBudget: choice.qualityBudget } : {})
    }
  } else {
    for (const type of setup.types) {
      if (type === intermediate) continue
      const predicted = await predictQuantizedSize({
        bin: setup.llama.quantize,
        input: converted,
        type,
        imatrix: g.imatrix ?? undefined,
        supportsDryRun: setup.llama.types.dryRun
      })
      made.set(type, await quantizeTo(work, converted, type, predicted.bytes))
    }
    if (setup.types.includes(intermediate)) made.set(intermediate, converted)
  }
  return made
}

/** The working folder becomes `<gguf-dir>.intermediates` (keep-intermediates), else is removed. */
async function finishWork(work: Work): Promise<void> {
  const g = work.setup.config
  if (g.keepIntermediates) {
    const kept = `${g.dir}.intermediates`
    await work.ws.remove(kept)
    await work.ws.move(work.dir, kept)
    work.result.manifest.intermediates = kept
    work.result.notes.push(`Intermediates kept in \`${kept}\` (keep-intermediates: true).`)
  } else {
    await work.ws.remove(work.dir)
  }
}

async function quantizeTo(
  work: Work,
  input: string,
  type: string,
  predictedBytes: number
): Promise<string> {
  const { setup } = work
  await work.ws.ensureRoom(work.dir, predictedBytes, `the ${type} GGUF file`)
  const output = path.join(work.dir, fileName(setup.config, type))
  const argv = await quantizeGguf({
    bin: setup.llama.quantize,
    input,
    output,
    type,
    imatrix: setup.config.imatrix ?? undefined
  })
  work.result.commands.push({ what: `Quantize ${type}`, argv })
  await work.ws.wrote(output)
  return output
}

/** Moves a checked output (its file, or every shard) into gguf-dir under the same names. */
async function moveInto(work: Work, output: MeasuredOutput): Promise<MeasuredOutput> {
  const move = async (file: string): Promise<string> => {
    const final = path.join(work.setup.config.dir, path.basename(file))
    await work.ws.move(file, final)
    return final
  }
  const modelfile = output.modelfile ? { modelfile: await move(output.modelfile) } : {}
  if (!output.shards) return { ...output, path: await move(output.path), ...modelfile }
  const shards = []
  for (const shard of output.shards) shards.push({ ...shard, path: await move(shard.path) })
  return { ...output, path: shards[0].path, shards, ...modelfile }
}

async function smoke(work: Work, file: string, type: string, chat: ChatFacts): Promise<void> {
  const { setup } = work
  if (!setup.config.smokeTest) return
  const r = await smokeTest({ bin: setup.llama.generator, model: file, tokens: 8 })
  const count = r.tokens === null ? 'tokens' : `${r.tokens} tokens`
  const excerpt = r.excerpt === '' ? '' : `: "${r.excerpt}"`
  const note = r.excerpt.includes('\\x') ? ' (bytes that are not UTF-8 text shown as \\xNN)' : ''
  log.info(
    `${type}: llama.cpp loaded ${path.basename(file)} and generated ${count} in ${r.ms} ms${excerpt}${note}.`
  )
  const text = await chatTurnWarning(setup, file, type, chat)
  if (text !== null && !work.result.diagnoses.some(d => d.text === text))
    work.result.diagnoses.push({ level: 'warning', title: 'Chat in GGUF runtimes', text })
}

/** Tokens one chat turn's reply may take before it counts as not ending. */
const CHAT_TURN_TOKENS = 64

/**
 * One chat turn through the file's own template (a file without one was warned about already):
 * a reply that does not end within CHAT_TURN_TOKENS, or a template llama.cpp cannot run, is a
 * warning, not a failure: the file loads and generates, and a model's replies are its own.
 */
async function chatTurnWarning(
  setup: GgufSetup,
  file: string,
  type: string,
  chat: ChatFacts
): Promise<string | null> {
  if (chat.template === null) return null
  const name = path.basename(file)
  const eot = endOfTurnToken(chat)
  let r
  try {
    r = await chatTurn({ bin: setup.llama.generator, model: file, tokens: CHAT_TURN_TOKENS })
  } catch (error) {
    if (!(error instanceof ActionError)) throw error
    return `${error.problem}: Ollama, LM Studio and the llama.cpp server may not be able to chat with ${name} either; check the chat template of the base model.`
  }
  if (r.ended === true) {
    log.info(
      `${type}: one chat turn through ${name}'s chat template ended at an end-of-generation token.`
    )
  } else if (r.ended === null) {
    log.info(
      `${type}: one chat turn through ${name}'s chat template ran, but llama.cpp's output was not flushed, so whether it ended is not known.`
    )
  } else {
    const stop = eot ? ` (${eot.text}, id ${eot.id})` : ''
    return `${name} did not end its reply within ${CHAT_TURN_TOKENS} tokens of one chat turn through its own chat template (llama-completion -cnv -st): a model that does not write its end-of-turn token${stop} keeps talking in Ollama, LM Studio and the llama.cpp server; check that the adapters were trained on chat-formatted data whose replies end with it.`
  }
  return null
}

/**
 * Verifies, smoke-tests and measures one file, or, when it is larger than gguf-split, splits it
 * and does the same for its shards (the smoke test loads the first, as llama.cpp loads a split
 * model); a bad file is deleted, never reported.
 */
async function checkOutput(
  work: Work,
  file: string,
  type: string,
  source: SourceFacts
): Promise<MeasuredOutput> {
  const { setup } = work
  try {
    const facts = await verifyGguf(file, type, undefined, source)
    const chat = facts.chat!
    for (const text of chatWarnings(path.basename(file), chat, source)) {
      if (!work.result.diagnoses.some(d => d.text === text))
        work.result.diagnoses.push({ level: 'warning', title: 'Chat in GGUF runtimes', text })
    }
    const limit = setup.config.split
    if (limit !== null && facts.bytes > limit) {
      const split = await splitOutput(work, file, type, facts)
      return { ...split, modelfile: await writeModelfile(work, split.path, type, chat) }
    }
    await smoke(work, file, type, chat)
    return {
      modelfile: await writeModelfile(work, file, type, chat),
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
    await work.ws.discard(file)
    if (error instanceof ActionError) throw error
    throw new ActionError({
      problem: `Checking ${path.basename(file)} failed (${(error as Error).message})`,
      fix: `the file was removed, run again`
    })
  }
}

/**
 * The Ollama Modelfile of one GGUF output, written beside its (first) file in the working folder:
 * its stop tokens are the file's end-of-generation set.
 */
async function writeModelfile(
  work: Work,
  ggufFile: string,
  type: string,
  chat: ChatFacts
): Promise<string> {
  const g = work.setup.config
  const file = path.join(path.dirname(ggufFile), modelfileName(fileName(g, type)))
  const m = modelfile({
    ggufName: path.basename(ggufFile),
    stopTokens: chat.eogTexts,
    ...(chat.template !== null ? { chatTemplate: chat.template } : {})
  })
  for (const token of m.unwritable) {
    log.info(
      `${type}: the stop token ${JSON.stringify(token)} cannot be written in an Ollama Modelfile; ${path.basename(file)} leaves it out.`
    )
  }
  await work.ws.writeNew(file, m.text)
  return file
}

/** Splits a verified file into shards within gguf-split, each verified and measured. */
async function splitOutput(
  work: Work,
  file: string,
  type: string,
  whole: GgufFacts
): Promise<MeasuredOutput> {
  const { setup } = work
  const limit = setup.config.split!
  await work.ws.ensureRoom(file, whole.bytes, `the shards of ${path.basename(file)}`)
  const { shards, argv } = await splitGguf({
    bin: setup.llama.split!,
    file,
    limit,
    prefix: path.join(path.dirname(file), `${setup.config.stem}-${type}`)
  })
  work.result.commands.push({ what: `Split ${type}`, argv })
  for (const shard of shards) await work.ws.wrote(shard)
  await work.ws.remove(file) // the shards replace it
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
    throw new ActionError({
      problem: `The ${shards.length} shards of ${path.basename(file)} hold ${tensors} tensors and ${parameters} parameters, not the ${whole.tensorCount} and ${whole.parameters} of the file they were split from`,
      fix: `run again`
    })
  }
  await smoke(work, shards[0], type, whole.chat!)
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
  if (choice.qualityBudget) return autoQualityNote(choice, choice.qualityBudget)
  const rows = choice.candidates.map(
    c =>
      `\n\`${c.type}\`: predicted ${formatSize(c.predictedBytes)} (${c.method})${c.measuredBytes !== undefined ? `, measured ${formatSize(c.measuredBytes)}` : ''}${c.type === choice.type ? ' ← chosen' : ''}`
  )
  return `gguf: auto chose \`${choice.type}\`, the best-quality type that fits ${choice.budgetText}. Candidates:${rows.join('')}`
}

/** With a quality budget: the type taken, and the budget that ruled out each type passed over. */
function autoQualityNote(choice: AutoChoice, qualityBudget: readonly string[]): string {
  const made = choice.candidates.filter(c => c.seconds !== undefined)
  const seconds = made.reduce((sum, c) => sum + c.seconds!, 0)
  const rows = [...choice.candidates].reverse().map(c => {
    const size = `${c.measuredBytes !== undefined ? `measured ${formatSize(c.measuredBytes)}` : `predicted ${formatSize(c.predictedBytes)} (${c.method})`}`
    const kld = c.quality ? `, mean KL divergence ${c.quality.meanKld.toPrecision(3)}` : ''
    const verdict =
      c.type === choice.type
        ? c.ruledOut
          ? ` ← kept, though the ${c.ruledOut.budget} budget rules it out: ${c.ruledOut.reason}`
          : ' ← chosen'
        : c.ruledOut
          ? ` — ruled out by the ${c.ruledOut.budget} budget: ${c.ruledOut.reason}`
          : ''
    return `\n\`${c.type}\`: ${size}${kld}${verdict}`
  })
  const budgets = `${choice.budgetText} and the quality budget (${qualityBudget.join(', ')})`
  const chosen = choice.candidates.find(c => c.type === choice.type)!
  const head = chosen.ruledOut
    ? `gguf: auto found no type within both ${budgets}; it kept \`${choice.type}\` so the budget check reports by how much it misses`
    : `gguf: auto chose \`${choice.type}\`, the smallest type within both ${budgets}`
  return `${head}, walking up from the smallest (${made.length} quantized and scored in ${seconds.toFixed(1)} s). Candidates, smallest first:${rows.join('')}`
}
