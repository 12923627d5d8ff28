/** Every input parsed and validated up front; a typed config out. Nothing here runs a tool. */
import * as core from '@actions/core'
import { addSecret } from './core/redact.js'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { readUploadInputs } from './artifacts/inputs.js'
import { readBaselineInputs } from './baseline/inputs.js'
import { readCommentInputs } from './comment/inputs.js'
import { parseQualityBudgets, parseSizeBudget } from './budget/index.js'
import { checkOutputPlacement } from './core/folders.js'
import { MIN_SPLIT_BYTES } from './gguf/split.js'
import { FTYPE_IDS, TYPE_ALIASES } from './gguf/quant-types.js'
import { formatSize, parseSize } from './core/size.js'
import {
  DEFAULT_LLAMA_CPP_REF,
  DEFAULT_MLX_LM_VERSION,
  QUANTIZE_GROUP_SIZES,
  type Config,
  type GgufConfig,
  type QualityConfig
} from './core/config.js'
import { ActionError } from './core/types.js'
import { Inputs, type InputName } from './core/constants.js'
import { readHubPublishInputs, requireHubToken } from './hub-publish/inputs.js'
import { outputDirInput, parseBooleanInput } from './core/input-values.js'
import { DEFAULT_EVAL_TOKENS, MIN_EVAL_CONTEXT } from './quality/thresholds.js'

const QUANTIZE_BITS = [2, 3, 4, 5, 6, 8]
/**
 * List inputs, split on newlines and tabs; any other control character is refused in them. Every
 * other input is one line: a control character in one (a line feed in `dequantize`, a blank line
 * and Markdown in `revision`) can only be a mistake or an attempt to forge a workflow command
 * through a log line (see src/core/log.ts) or live Markdown in the job summary, so it is refused
 * before any input's text is quoted anywhere. One rule for every input, including those other
 * modules parse (src/artifacts/inputs.ts).
 */
const LIST_INPUTS: readonly InputName[] = [Inputs.Gguf, Inputs.SizeBudget, Inputs.QualityBudget]
const ONE_LINE_INPUTS = Object.values(Inputs).filter(n => !LIST_INPUTS.includes(n))
/** Names a size-budget target may use; the checkout's own llama-quantize decides what runs. */
const KNOWN_GGUF_TYPES = new Set([...Object.keys(FTYPE_IDS), ...Object.keys(TYPE_ALIASES)])

export async function readInputs(cwd = process.cwd()): Promise<Config> {
  const hfToken = core.getInput(Inputs.HfToken) || null
  addSecret(hfToken) // masked in the log, redacted from the summary and the manifest
  refuseControlCharacters()

  const baseModel = required(Inputs.BaseModel)
  const adapterPath = path.resolve(cwd, required(Inputs.AdapterPath))
  const outputDir = outputDirInput(name => core.getInput(name), cwd)
  const baseModelDir = await localModelDir(baseModel, cwd)
  const revision = core.getInput(Inputs.Revision).trim() || null
  if (revision && baseModelDir) {
    throw new ActionError({
      problem: `Input revision "${revision}" pins a Hugging Face repo id, but base-model "${baseModel}" is a local directory`,
      fix: `remove revision or set base-model to a repo id`
    })
  }

  const upload = readUploadInputs(name => core.getInput(name), outputDir)
  const ggufText = core.getInput(Inputs.Gguf)
  // GGUF files are named like their artifacts: the artifact-name prefix is their stem
  const gguf = ggufText.trim() === '' ? null : parseGguf(ggufText, outputDir, upload.prefix, cwd)
  if (!gguf && bool(Inputs.GgufAdapter, false)) {
    throw new ActionError({
      problem: 'Input gguf-adapter is true but gguf is empty',
      fix: 'set gguf as well (for example gguf: Q4_K_M): the LoRA GGUF is made with the same llama.cpp and converter, or set gguf-adapter to false'
    })
  }
  if (!gguf && core.getInput(Inputs.GgufSplit).trim() !== '') {
    throw new ActionError({
      problem: 'Input gguf-split is set but gguf is empty, so there is no GGUF file to split',
      fix: 'list the GGUF types to make (gguf: Q4_K_M), or remove gguf-split'
    })
  }
  const { budgets, growth: growthBudgets } = parseSizeBudget(
    core.getInput(Inputs.SizeBudget),
    KNOWN_GGUF_TYPES,
    TYPE_ALIASES
  )
  // auto chooses by absolute budgets only; a growth limit judges the file it chose.
  if (gguf?.auto && !budgets.some(b => b.target === 'gguf' || b.target === 'all')) {
    throw new ActionError({
      problem: 'Input gguf is "auto" but size-budget has no absolute budget for GGUF files',
      fix: 'add one such as "gguf=2GB" (auto picks the best type that fits it; a growth limit such as "gguf=+5%" only judges the result), or list the types you want'
    })
  }

  const quality = qualityInputs(cwd)
  const qualityBudgets = parseQualityBudgets(
    core.getInput(Inputs.QualityBudget),
    KNOWN_GGUF_TYPES,
    TYPE_ALIASES
  )
  if (qualityBudgets.length && !quality) {
    throw new ActionError({
      problem:
        'Input quality-budget is set but eval-data is empty, so there are no figures to judge',
      fix: 'set eval-data to the text the quality is measured on (e.g. the valid.jsonl of training), or remove quality-budget'
    })
  }

  const config: Config = {
    baseModel,
    baseModelDir,
    adapterPath,
    outputDir,
    manifestPath: `${outputDir}.manifest.json`,
    dequantize: bool(Inputs.Dequantize, false),
    quantizeBits: quantizeBits(),
    quantizeGroupSize: groupSize(),
    budgets,
    growthBudgets,
    qualityBudgets,
    onOverBudget: choice(Inputs.OnOverBudget, ['fail', 'warn'], 'fail'),
    python: core.getInput(Inputs.Python) || null,
    mlxLmVersion: version(Inputs.MlxLmVersion, DEFAULT_MLX_LM_VERSION),
    overwrite: bool(Inputs.Overwrite, false),
    hfToken,
    revision,
    trustRemoteCode: bool(Inputs.TrustRemoteCode, false),
    gguf,
    upload,
    hub: readHubPublishInputs(name => core.getInput(name)),
    baseline: readBaselineInputs(name => core.getInput(name), upload.prefix),
    cacheToolchain: bool(Inputs.CacheToolchain, false),
    comment: readCommentInputs(name => core.getInput(name), upload.prefix),
    quality
  }
  if (config.hub) await requireHubToken(config.hub, hfToken)
  await checkOutputPlacement(config, cwd)
  return config
}

function required(name: InputName): string {
  const value = core.getInput(name).trim()
  if (!value)
    throw new ActionError({
      problem: `Input ${name} is required`,
      fix: `set it in the step's "with:"`
    })
  return value
}

function bool(name: InputName, fallback: boolean): boolean {
  return parseBooleanInput(name, core.getInput(name), fallback)
}

function choice<T extends string>(name: InputName, allowed: readonly T[], fallback: T): T {
  const value = core.getInput(name).trim().toLowerCase()
  if (value === '') return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new ActionError({
    problem: `Input ${name} is "${core.getInput(name)}"`,
    fix: `use ${allowed.join(' or ')}`
  })
}

function groupSize(): number {
  const value = core.getInput(Inputs.QuantizeGroupSize).trim()
  if (value === '') return 64
  if (!/^\d+$/.test(value) || !QUANTIZE_GROUP_SIZES.includes(Number(value))) {
    throw new ActionError({
      problem: `Input quantize-group-size is "${value}"`,
      fix: `MLX's affine quantization supports group sizes ${QUANTIZE_GROUP_SIZES.join(', ')} only (64 is the default)`
    })
  }
  return Number(value)
}

/** Unicode names of the control characters people meet; others get a generic name. */
const CONTROL_NAMES: Record<number, string> = {
  0x00: 'null',
  0x07: 'bell',
  0x08: 'backspace',
  0x09: 'tab',
  0x0a: 'line feed',
  0x0b: 'vertical tab',
  0x0c: 'form feed',
  0x0d: 'carriage return',
  0x1b: 'escape',
  0x7f: 'delete',
  0x85: 'next line',
  0x2028: 'line separator',
  0x2029: 'paragraph separator'
}
/** C0 and C1 controls, DEL and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u
// eslint-disable-next-line no-control-regex
const CONTROL_IN_LIST = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/u

/** `U+000A (line feed)`. */
export function describeCharacter(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  const hex = code.toString(16).toUpperCase().padStart(4, '0')
  return `U+${hex} (${CONTROL_NAMES[code] ?? 'a control character'})`
}

/** Refuses a control character in any input (line breaks and tabs allowed in lists), before its text can reach a log line or the summary. */
function refuseControlCharacters(): void {
  const checks: Array<[InputName, RegExp]> = [
    ...ONE_LINE_INPUTS.map((n): [InputName, RegExp] => [n, CONTROL]),
    ...LIST_INPUTS.map((n): [InputName, RegExp] => [n, CONTROL_IN_LIST])
  ]
  for (const [name, pattern] of checks) {
    const value = core.getInput(name)
    const hit = pattern.exec(value)
    if (hit) {
      throw new ActionError({
        problem: `Input ${name} holds the control character ${describeCharacter(hit[0])} at position ${hit.index + 1}`,
        fix: `remove it (inputs may not hold control characters, which could forge workflow commands in the log or markup in the job summary)`
      })
    }
  }
}

function quantizeBits(): number | null {
  const value = core.getInput(Inputs.QuantizeBits).trim()
  if (value === '') return null
  if (!QUANTIZE_BITS.includes(Number(value)) || !/^\d$/.test(value)) {
    throw new ActionError({
      problem: `Input quantize-bits is "${value}"`,
      fix: `use one of ${QUANTIZE_BITS.join(', ')}, or leave it empty to keep the fused model's precision`
    })
  }
  return Number(value)
}

function version(name: InputName, fallback: string): string {
  const value = core.getInput(name).trim()
  if (value === '') return fallback
  if (!/^\d+\.\d+(\.\d+)?([a-z0-9.]*)$/i.test(value)) {
    throw new ActionError({
      problem: `Input ${name} is "${value}"`,
      fix: `use a release number such as ${fallback}`
    })
  }
  return value
}

/** A base model that looks like a path must be a directory holding config.json. */
async function localModelDir(baseModel: string, cwd: string): Promise<string | null> {
  const candidate = path.resolve(cwd, baseModel)
  const looksLikePath =
    baseModel.startsWith('.') ||
    baseModel.startsWith('/') ||
    baseModel.startsWith('~') ||
    baseModel.split('/').length !== 2
  const stat = await fs.stat(candidate).catch(() => null)
  if (!stat && looksLikePath) {
    throw new ActionError({
      problem: `Input base-model "${baseModel}" is neither an existing directory nor a Hugging Face repo id (owner/name)`,
      fix: `fix the path or the repo id`
    })
  }
  if (!stat) return null
  if (!stat.isDirectory()) {
    throw new ActionError({
      problem: `Input base-model "${baseModel}" is a file`,
      fix: `point it at the model directory that holds config.json`
    })
  }
  const config = await fs.stat(path.join(candidate, 'config.json')).catch(() => null)
  if (!config?.isFile()) {
    throw new ActionError({
      problem: `Input base-model "${baseModel}" has no config.json`,
      fix: `point it at the model directory (the folder with config.json and *.safetensors)`
    })
  }
  return candidate
}

/**
 * gguf-split: a size in the size grammar. llama-gguf-split limits a shard's tensor data in whole
 * megabytes, and the header comes on top, so anything up to 1 MB and a header can never work.
 */
function ggufSplit(): number | null {
  const text = core.getInput(Inputs.GgufSplit).trim()
  if (text === '') return null
  const bytes = parseSize(text, Inputs.GgufSplit)
  if (bytes < MIN_SPLIT_BYTES) {
    throw new ActionError({
      problem: `Input gguf-split is ${formatSize(bytes)}, but a shard holds at least 1 MB of tensor data (llama-gguf-split counts whole megabytes) plus the GGUF header`,
      fix: `use a larger size such as 1900MB (under a GitHub release asset's 2 GiB)`
    })
  }
  return bytes
}

function parseGguf(text: string, outputDir: string, stem: string, cwd: string): GgufConfig {
  const items = text
    .split(/[\s,]+/)
    .map(s => s.trim())
    .filter(Boolean)
  const auto = items.length === 1 && items[0].toLowerCase() === 'auto'
  if (!auto && items.some(s => s.toLowerCase() === 'auto')) {
    throw new ActionError({
      problem: `Input gguf is "${text.trim()}"`,
      fix: `"auto" stands alone (it picks one type under the gguf budget), or list types such as "Q4_K_M Q8_0"`
    })
  }
  const types = auto ? [] : items.map(s => s.toUpperCase())
  const duplicate = types.find((t, i) => types.indexOf(t) !== i)
  if (duplicate)
    throw new ActionError({
      problem: `Input gguf lists ${duplicate} twice`,
      fix: `list each type once`
    })
  const ggufDir = core.getInput(Inputs.GgufDir)
  const imatrix = core.getInput(Inputs.Imatrix).trim()
  const llamaCppDir = core.getInput(Inputs.LlamaCppDir).trim()
  return {
    types,
    auto,
    llamaCppDir: llamaCppDir ? path.resolve(cwd, llamaCppDir) : null,
    llamaCppRef: core.getInput(Inputs.LlamaCppRef).trim() || DEFAULT_LLAMA_CPP_REF,
    convertPython: core.getInput(Inputs.ConvertPython).trim() || null,
    imatrix: imatrix ? path.resolve(cwd, imatrix) : null,
    smokeTest: bool(Inputs.SmokeTest, true),
    keepIntermediates: bool(Inputs.KeepIntermediates, false),
    cacheToolchain: bool(Inputs.CacheToolchain, false),
    dir: ggufDir ? path.resolve(cwd, ggufDir) : `${outputDir}-gguf`,
    stem,
    split: ggufSplit(),
    adapter: bool(Inputs.GgufAdapter, false)
  }
}

/**
 * eval-data and eval-tokens. The file itself is read and bounded by the plan (src/quality/data.ts),
 * before any fuse; eval-tokens is checked against the chunk size there too, once the model's
 * context is known. Without eval-data there are no quality figures, whatever eval-tokens says.
 */
function qualityInputs(cwd: string): QualityConfig | null {
  const evalData = core.getInput(Inputs.EvalData).trim()
  const tokensText = core.getInput(Inputs.EvalTokens).trim()
  if (!/^\d*$/.test(tokensText) || (tokensText !== '' && Number(tokensText) < MIN_EVAL_CONTEXT)) {
    throw new ActionError({
      problem: `Input eval-tokens is "${tokensText}"`,
      fix: `use a whole number of tokens such as ${DEFAULT_EVAL_TOKENS} (the default), at least one chunk of the context (512)`
    })
  }
  if (evalData === '') return null
  return {
    evalData: path.resolve(cwd, evalData),
    evalTokens: tokensText === '' ? DEFAULT_EVAL_TOKENS : Number(tokensText)
  }
}
