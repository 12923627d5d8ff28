/**
 * `gguf-adapter: true` (issue 19): a LoRA-only GGUF of the adapters and the base model's own GGUF
 * it applies to, both outputs of the run. The base is converted once, from the 16-bit base the MLX
 * stage hands over (the base itself, or a de-quantized copy: src/mlx/base16.ts); the adapters are written in
 * the PEFT layout (peft.ts) and converted by llama.cpp's convert_lora_to_gguf.py against the base's
 * config; llama-completion then loads the base with `--lora`. Each file is verified, measured and
 * moved into gguf-dir as `<stem>-base.gguf` and `<stem>-lora.gguf` (outputs `base` and `lora`).
 */
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { sha256File } from '../core/checksum.js'
import type { Workspace } from '../core/workspace.js'
import type { BaseGgufCache } from './base-cache.js'
import { copyIntoScratch, makeTempFolder } from '../core/scratch.js'
import { writeJsonFile } from '../core/tensor-file.js'
import { hardLink } from '../core/workspace.js'
import {
  ActionError,
  type FullPrecisionSource,
  type MeasuredOutput,
  type StageResult
} from '../core/types.js'
import * as log from '../core/log.js'
import { estimateFullPrecisionBytes } from '../mlx/precision.js'
import { readSafetensorsHeader } from '../mlx/safetensors.js'
import type { AdapterInfo } from '../mlx/adapters.js'
import { convertToGguf, intermediateOutType } from './convert.js'
import { convertLoraToGguf } from './convert-lora.js'
import { planPeft, writePeftFolder, type PeftPlan } from './peft.js'
import type { GgufSetup } from './pipeline.js'
import { smokeTest } from './smoke.js'
import { prepareConversionSource } from './source.js'
import { prepareExperts } from './unstack.js'
import { readGgufHeader, verifyGguf, type ChatFacts } from './verify.js'
import { modelfile, modelfileName } from './modelfile.js'

/** What the manifest says about the LoRA GGUF (`gguf.adapter`). */
export interface AdapterGgufManifest {
  /** The PEFT `r` and `lora_alpha` (= scale × rank) written into the LoRA GGUF. */
  rank: number
  alpha: number
  /** The modules the adapters change (PEFT target_modules). */
  targetModules: string[]
  /** The base GGUF's type (F16 or BF16). */
  baseType: string
  /** The bits of the quantized base the adapters were trained on, or null for a 16-bit base. */
  quantizedBaseBits: number | null
}

export interface AdapterGgufResult extends StageResult {
  manifest: AdapterGgufManifest
}

/** Output names, which are also their budget targets (`lora=…`, `base=…`). */
export const LORA_OUTPUT = 'lora'
export const BASE_OUTPUT = 'base'

/**
 * Before any fuse: the PEFT plan of `adapters`, or one sentence refusing what llama.cpp cannot
 * apply as a LoRA (DoRA, a full fine-tune, mixture-of-experts adapters: see planPeft).
 */
export async function planAdapterGguf(adapters: AdapterInfo, baseModel: string): Promise<PeftPlan> {
  const header = await readSafetensorsHeader(path.join(adapters.dir, 'adapters.safetensors'))
  return planPeft(adapters, header, baseModel)
}

export interface AdapterGgufRequest {
  setup: GgufSetup
  peft: PeftPlan
  /** The adapter-path folder. */
  adapterDir: string
  /** The base model's own folder (its tokenizer) and its quantization bits (null: 16-bit). */
  base: { dir: string; bits: number | null }
  /**
   * The base at 16-bit the MLX stage handed over (owned: a de-quantized copy to remove); on a
   * cache hit the base itself, not de-quantized, for its tokenizer and config only.
   */
  base16: FullPrecisionSource
  /** The base GGUF's cache entry (a Hub base), or null. */
  cache: BaseGgufCache | null
}

/** Makes, checks and moves into gguf-dir the base GGUF and the LoRA GGUF. */
export async function produceAdapterGguf(
  req: AdapterGgufRequest,
  ws: Workspace
): Promise<AdapterGgufResult> {
  const g = req.setup.config
  const dir = await ws.stage(g.dir, 'adapter')
  const result = emptyResult(req)
  try {
    if (req.base.bits !== null) result.notes.push(quantizedBaseNote(req.base.bits))
    const base = await baseGguf(req, dir, ws, result)
    const loraFile = await loraGguf(req, dir, ws, result)
    if (req.base16.owned) await ws.remove(req.base16.owned) // both conversions are done
    const made = await checkedOutputs(req, base, loraFile, ws)
    await ws.folder(g.dir)
    for (const output of made) result.outputs.push(await moveOutput(ws, g.dir, output))
    await ws.remove(dir)
    return result
  } catch (error) {
    return ws.failed(error, dir, req.base16.owned)
  }
}

function emptyResult(req: AdapterGgufRequest): AdapterGgufResult {
  const { config } = req.peft
  return {
    outputs: [],
    commands: [],
    diagnoses: [],
    notes: [],
    manifest: {
      rank: config.r,
      alpha: config.lora_alpha,
      targetModules: config.target_modules,
      baseType: '',
      quantizedBaseBits: req.base.bits
    }
  }
}

const quantizedBaseNote = (bits: number): string =>
  `gguf-adapter: the adapters were trained on a ${bits}-bit base; llama.cpp applies the LoRA GGUF to the 16-bit base GGUF made here (de-quantized), so replies can differ slightly from MLX's on the quantized base.`

/** The base GGUF in the staging folder: converted from the 16-bit base, or taken from the cache. */
interface BaseGguf {
  file: string
  type: string
  /** What the conversion source says the GGUF must hold (vocabulary, chat template, ...). */
  facts: Awaited<ReturnType<typeof prepareConversionSource>>['facts']
  /** True when it came from the cache. */
  cached: boolean
}

async function baseGguf(
  req: AdapterGgufRequest,
  dir: string,
  ws: Workspace,
  result: AdapterGgufResult
): Promise<BaseGguf> {
  const { setup } = req
  // The base as llama.cpp applies a LoRA to it: 16-bit, de-quantized when it is not.
  const baseDir = req.base16.dir
  await ws.ensureRoom(dir, estimateFullPrecisionBytes(req.base16.stats), 'the base GGUF')
  const hit = req.cache?.hit ?? null
  const type = hit?.type ?? intermediateOutType(req.base16.stats.floatDtype).toUpperCase()
  result.manifest.baseType = type
  const prepared = await prepareConversionSource(baseDir, req.base.dir, dir)
  const file = path.join(dir, `${setup.config.stem}-${BASE_OUTPUT}.gguf`)
  if (hit) {
    // Linked, else copied: the cache entry itself is never handed out as an output.
    if (!(await hardLink(hit.file, file))) await copyIntoScratch(hit.file, file)
    log.info(
      `gguf-adapter: the base GGUF of this base revision was made by an earlier run with this llama.cpp; taken from the cache (${hit.file}).`
    )
  } else {
    const experts = await prepareExperts(prepared.dir, dir, ws.freeBytes)
    if (experts.bytes > 0) ws.add(path.resolve(experts.dir), experts.bytes)
    result.commands.push({
      what: 'Convert the base',
      argv: await convertToGguf({
        python: setup.convertPython,
        script: setup.llama.convertScript,
        modelDir: experts.dir,
        outFile: file,
        outType: type.toLowerCase() as 'bf16' | 'f16' | 'f32'
      })
    })
  }
  await ws.wrote(file)
  return { file, type, facts: prepared.facts, cached: hit !== null }
}

/** The adapters in the PEFT layout, converted by convert_lora_to_gguf.py against the base's config. */
async function loraGguf(
  req: AdapterGgufRequest,
  dir: string,
  ws: Workspace,
  result: AdapterGgufResult
): Promise<string> {
  const { setup, peft } = req
  const peftDir = await makeTempFolder(dir, 'peft-')
  const adaptersFile = path.join(req.adapterDir, 'adapters.safetensors')
  await writePeftFolder(peftDir, peft, adaptersFile, await readSafetensorsHeader(adaptersFile))
  const loraFile = path.join(dir, `${setup.config.stem}-${LORA_OUTPUT}.gguf`)
  result.commands.push({
    what: 'Convert the LoRA adapters',
    argv: await convertLoraToGguf({
      python: setup.convertPython,
      script: path.join(setup.llama.dir, 'convert_lora_to_gguf.py'),
      peftDir,
      baseDir: await configOnly(dir, req.base16.dir),
      outFile: loraFile,
      outType: 'f16'
    })
  })
  await ws.wrote(loraFile)
  return loraFile
}

/** Both files verified, the base kept in the cache, smoke-tested together, with their Modelfiles. */
async function checkedOutputs(
  req: AdapterGgufRequest,
  base: BaseGguf,
  loraFile: string,
  ws: Workspace
): Promise<MeasuredOutput[]> {
  const { setup, peft } = req
  const baseFacts = await verifyGguf(base.file, base.type, undefined, base.facts)
  if (req.cache && !base.cached) await keepInCache(req.cache.dir, base, setup.config.dir)
  const loraFacts = await verifyLoraGguf(loraFile, peft)
  if (setup.config.smokeTest) await smokeWithLora(setup.llama.generator, base.file, loraFile)
  // Ollama Modelfiles: the base alone, and the base with the LoRA GGUF as its ADAPTER.
  const modelfiles = await writeModelfiles(ws, base.file, loraFile, baseFacts.chat!)
  return [
    {
      name: BASE_OUTPUT,
      kind: 'gguf',
      path: base.file,
      bytes: baseFacts.bytes,
      files: 1,
      format: `GGUF ${base.type} (${baseFacts.architecture}), the base model the LoRA GGUF applies to`,
      parameters: baseFacts.parameters,
      bitsPerWeight: (baseFacts.bytes * 8) / baseFacts.parameters,
      sha256: (await sha256File(base.file)).sha256,
      modelfile: modelfiles.base
    },
    {
      name: LORA_OUTPUT,
      kind: 'gguf',
      path: loraFile,
      bytes: loraFacts.bytes,
      files: 1,
      format: `GGUF LoRA adapter F16 (${loraFacts.architecture}), rank ${peft.config.r}, alpha ${peft.config.lora_alpha}`,
      parameters: loraFacts.parameters,
      bitsPerWeight: (loraFacts.bytes * 8) / loraFacts.parameters,
      sha256: (await sha256File(loraFile)).sha256,
      modelfile: modelfiles.lora
    }
  ]
}

/** A hard link in the cache (no copy), so a later run on this base revision skips the conversion. */
async function keepInCache(cacheDir: string, base: BaseGguf, ggufDir: string): Promise<void> {
  const entry = path.join(cacheDir, `${base.type}.gguf`)
  log.info(
    (await hardLink(base.file, entry))
      ? `gguf-adapter: the base GGUF is kept in the cache for later runs on this base revision (${entry}, a hard link: no copy).`
      : `gguf-adapter: the base GGUF is not cached: ${cacheDir} is on another file system than ${ggufDir}, and a copy would double its disk use.`
  )
}

async function smokeWithLora(generator: string, baseFile: string, loraFile: string): Promise<void> {
  const r = await smokeTest({ bin: generator, model: baseFile, lora: loraFile, tokens: 8 })
  log.info(
    `lora: llama.cpp loaded ${path.basename(baseFile)} with --lora ${path.basename(loraFile)} and generated ${r.tokens === null ? 'tokens' : `${r.tokens} tokens`} in ${r.ms} ms.`
  )
}

/** Moves an output and its Modelfile into gguf-dir. */
async function moveOutput(
  ws: Workspace,
  ggufDir: string,
  output: MeasuredOutput
): Promise<MeasuredOutput> {
  const into = async (file: string): Promise<string> => {
    const final = path.join(ggufDir, path.basename(file))
    await ws.move(file, final)
    return final
  }
  return { ...output, path: await into(output.path), modelfile: await into(output.modelfile!) }
}

/**
 * A LoRA GGUF carries no `general.file_type`, so verifyGguf's type check does not apply: it is
 * checked for what llama.cpp reads when it applies one (`general.type` adapter, `adapter.type`
 * lora, ggml-org/llama.cpp v0.4.0 `src/llama-adapter.cpp`) and for one lora_a and lora_b tensor
 * per adapted matrix of the plan.
 */
async function verifyLoraGguf(
  file: string,
  peft: PeftPlan
): Promise<{ bytes: number; parameters: number; architecture: string }> {
  const name = path.basename(file)
  const h = await readGgufHeader(file)
  const bad = (what: string): never => {
    throw new ActionError({
      problem: `${name} ${what}`,
      fix: 'check the output of convert_lora_to_gguf.py above'
    })
  }
  if (h.metadata['general.type'] !== 'adapter' || h.metadata['adapter.type'] !== 'lora')
    bad(
      `is not a LoRA adapter GGUF (general.type ${String(h.metadata['general.type'])}, adapter.type ${String(h.metadata['adapter.type'])})`
    )
  const pairs = h.tensors.filter(t => /\.lora_[ab]$/.test(t.name)).length
  if (pairs !== peft.tensors.length || h.tensors.length !== pairs)
    bad(
      `holds ${h.tensors.length} tensors (${pairs} lora_a/lora_b), not the ${peft.tensors.length} of the adapters`
    )
  const architecture = h.metadata['general.architecture']
  return {
    bytes: (await stat(file)).size,
    parameters: h.parameters,
    architecture: typeof architecture === 'string' ? architecture : ''
  }
}

/** `<stem>-base.Modelfile` (FROM the base) and `<stem>-lora.Modelfile` (FROM the base, ADAPTER the LoRA). */
async function writeModelfiles(
  ws: Workspace,
  baseFile: string,
  loraFile: string,
  chat: ChatFacts
): Promise<{ base: string; lora: string }> {
  const files = { base: '', lora: '' }
  for (const [key, file, adapter] of [
    ['base', baseFile, undefined],
    ['lora', loraFile, path.basename(loraFile)]
  ] as const) {
    const m = modelfile({
      ggufName: path.basename(baseFile),
      stopTokens: chat.eogTexts,
      ...(chat.template !== null ? { chatTemplate: chat.template } : {}),
      ...(adapter !== undefined ? { adapter } : {})
    })
    files[key] = path.join(path.dirname(file), modelfileName(path.basename(file)))
    await ws.writeNew(files[key], m.text)
  }
  return files
}

/**
 * The `--base` convert_lora_to_gguf.py reads (ggml-org/llama.cpp v0.4.0: `ModelBase.load_hparams`,
 * config.json only): the base's config.json without mlx-lm's `quantization` keys, so a quantized
 * base reads as the 16-bit model its GGUF holds.
 */
async function configOnly(work: string, baseDir: string): Promise<string> {
  const config = JSON.parse(await readFile(path.join(baseDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >
  delete config.quantization
  delete config.quantization_config
  const dir = await makeTempFolder(work, 'base-config-')
  await writeJsonFile(path.join(dir, 'config.json'), config)
  return dir
}
