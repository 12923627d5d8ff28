/** Every input parsed and validated up front; a typed config out. Nothing here runs a tool. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { readUploadInputs, type UploadConfig } from './artifacts/inputs.js'
import { parseBudgets } from './budget.js'
import { FTYPE_IDS, TYPE_ALIASES } from './gguf/types.js'
import { ActionError, type BudgetEntry } from './types.js'

export const DEFAULT_MLX_LM_VERSION = '0.32.2'
export const DEFAULT_LLAMA_CPP_REF = 'v0.4.0'
export const LLAMA_CPP_REPO = 'https://github.com/ggml-org/llama.cpp'
const QUANTIZE_BITS = [2, 3, 4, 5, 6, 8]
/** Names a size-budget target may use; the checkout's own llama-quantize decides what runs. */
const KNOWN_GGUF_TYPES = new Set([...Object.keys(FTYPE_IDS), ...Object.keys(TYPE_ALIASES)])

export interface GgufConfig {
  /** Upper-case type names as written (checked against llama-quantize later), or empty with auto. */
  types: string[]
  auto: boolean
  llamaCppDir: string | null
  llamaCppRef: string
  convertPython: string | null
  imatrix: string | null
  smokeTest: boolean
  keepIntermediates: boolean
  /** Absolute directory for the GGUF files. */
  dir: string
  /** File name stem: the artifact-name prefix (default `<basename of output-dir>`). */
  stem: string
}

export interface Config {
  baseModel: string
  /** Absolute path when base-model is a local directory, else null (a Hugging Face repo id). */
  baseModelDir: string | null
  adapterPath: string
  outputDir: string
  manifestPath: string
  dequantize: boolean
  quantizeBits: number | null
  quantizeGroupSize: number
  budgets: BudgetEntry[]
  onOverBudget: 'fail' | 'warn'
  python: string | null
  mlxLmVersion: string
  overwrite: boolean
  hfToken: string | null
  gguf: GgufConfig | null
  upload: UploadConfig
}

export async function readInputs(cwd = process.cwd()): Promise<Config> {
  const hfToken = core.getInput('hf-token') || null
  if (hfToken) core.setSecret(hfToken)

  const baseModel = required('base-model')
  const adapterPath = path.resolve(cwd, required('adapter-path'))
  const outputDir = path.resolve(cwd, core.getInput('output-dir') || 'fused-model')
  const baseModelDir = await localModelDir(baseModel, cwd)

  const upload = readUploadInputs(name => core.getInput(name), outputDir)
  const ggufText = core.getInput('gguf')
  const gguf = ggufText.trim() === '' ? null : parseGguf(ggufText, outputDir, cwd)
  if (gguf) gguf.stem = upload.prefix // GGUF files are named like their artifacts
  const budgets = parseBudgets(core.getInput('size-budget'), KNOWN_GGUF_TYPES)
  if (gguf?.auto && !budgets.some(b => b.target === 'gguf' || b.target === 'all')) {
    throw new ActionError(
      'Input gguf is "auto" but size-budget has no budget for GGUF files; add one such as "gguf=2GB" (auto picks the best type that fits it), or list the types you want.'
    )
  }

  const config: Config = {
    baseModel,
    baseModelDir,
    adapterPath,
    outputDir,
    manifestPath: `${outputDir}.manifest.json`,
    dequantize: bool('dequantize', false),
    quantizeBits: quantizeBits(),
    quantizeGroupSize: positiveInt('quantize-group-size', 64),
    budgets,
    onOverBudget: choice('on-over-budget', ['fail', 'warn'], 'fail'),
    python: core.getInput('python') || null,
    mlxLmVersion: version('mlx-lm-version', DEFAULT_MLX_LM_VERSION),
    overwrite: bool('overwrite', false),
    hfToken,
    gguf,
    upload
  }
  await checkOutputPlacement(config)
  return config
}

function required(name: string): string {
  const value = core.getInput(name).trim()
  if (!value) throw new ActionError(`Input ${name} is required; set it in the step's "with:".`)
  return value
}

function bool(name: string, fallback: boolean): boolean {
  const value = core.getInput(name).trim().toLowerCase()
  if (value === '') return fallback
  if (value === 'true') return true
  if (value === 'false') return false
  throw new ActionError(`Input ${name} is "${core.getInput(name)}"; use true or false.`)
}

function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const value = core.getInput(name).trim().toLowerCase()
  if (value === '') return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new ActionError(`Input ${name} is "${core.getInput(name)}"; use ${allowed.join(' or ')}.`)
}

function positiveInt(name: string, fallback: number): number {
  const value = core.getInput(name).trim()
  if (value === '') return fallback
  if (!/^\d+$/.test(value) || Number(value) === 0) {
    throw new ActionError(
      `Input ${name} is "${value}"; use a positive whole number such as ${fallback}.`
    )
  }
  return Number(value)
}

function quantizeBits(): number | null {
  const value = core.getInput('quantize-bits').trim()
  if (value === '') return null
  if (!QUANTIZE_BITS.includes(Number(value)) || !/^\d$/.test(value)) {
    throw new ActionError(
      `Input quantize-bits is "${value}"; use one of ${QUANTIZE_BITS.join(', ')}, or leave it empty to keep the fused model's precision.`
    )
  }
  return Number(value)
}

function version(name: string, fallback: string): string {
  const value = core.getInput(name).trim()
  if (value === '') return fallback
  if (!/^\d+\.\d+(\.\d+)?([a-z0-9.]*)$/i.test(value)) {
    throw new ActionError(`Input ${name} is "${value}"; use a release number such as ${fallback}.`)
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
    throw new ActionError(
      `Input base-model "${baseModel}" is neither an existing directory nor a Hugging Face repo id (owner/name); fix the path or the repo id.`
    )
  }
  if (!stat) return null
  if (!stat.isDirectory()) {
    throw new ActionError(
      `Input base-model "${baseModel}" is a file; point it at the model directory that holds config.json.`
    )
  }
  const config = await fs.stat(path.join(candidate, 'config.json')).catch(() => null)
  if (!config?.isFile()) {
    throw new ActionError(
      `Input base-model "${baseModel}" has no config.json; point it at the model directory (the folder with config.json and *.safetensors).`
    )
  }
  return candidate
}

function parseGguf(text: string, outputDir: string, cwd: string): GgufConfig {
  const items = text
    .split(/[\s,]+/)
    .map(s => s.trim())
    .filter(Boolean)
  const auto = items.length === 1 && items[0].toLowerCase() === 'auto'
  if (!auto && items.some(s => s.toLowerCase() === 'auto')) {
    throw new ActionError(
      `Input gguf is "${text.trim()}"; "auto" stands alone (it picks one type under the gguf budget), or list types such as "Q4_K_M Q8_0".`
    )
  }
  const types = auto ? [] : items.map(s => s.toUpperCase())
  const duplicate = types.find((t, i) => types.indexOf(t) !== i)
  if (duplicate) throw new ActionError(`Input gguf lists ${duplicate} twice; list each type once.`)
  const ggufDir = core.getInput('gguf-dir')
  const imatrix = core.getInput('imatrix').trim()
  const llamaCppDir = core.getInput('llama-cpp-dir').trim()
  return {
    types,
    auto,
    llamaCppDir: llamaCppDir ? path.resolve(cwd, llamaCppDir) : null,
    llamaCppRef: core.getInput('llama-cpp-ref').trim() || DEFAULT_LLAMA_CPP_REF,
    convertPython: core.getInput('convert-python').trim() || null,
    imatrix: imatrix ? path.resolve(cwd, imatrix) : null,
    smokeTest: bool('smoke-test', true),
    keepIntermediates: bool('keep-intermediates', false),
    dir: ggufDir ? path.resolve(cwd, ggufDir) : `${outputDir}-gguf`,
    stem: path.basename(outputDir)
  }
}

/** output-dir and gguf-dir may never be, contain or lie inside the base model or the adapters. */
async function checkOutputPlacement(config: Config): Promise<void> {
  const guarded: Array<[string, string | null]> = [
    ['base-model', config.baseModelDir],
    ['adapter-path', config.adapterPath]
  ]
  const outputs: Array<[string, string]> = [['output-dir', config.outputDir]]
  if (config.gguf) outputs.push(['gguf-dir', config.gguf.dir])
  for (const [outName, out] of outputs) {
    for (const [name, dir] of guarded) {
      if (dir && overlaps(await realish(out), await realish(dir))) {
        throw new ActionError(
          `Input ${outName} "${out}" overlaps ${name} "${dir}"; choose a separate folder so the action never writes into or deletes your ${name === 'base-model' ? 'base model' : 'adapters'}.`
        )
      }
    }
  }
}

/** The real path of `p`'s nearest existing ancestor joined with the rest, so links cannot hide an overlap. */
async function realish(p: string): Promise<string> {
  const rest: string[] = []
  let dir = p
  for (;;) {
    const real = await fs.realpath(dir).catch(() => null)
    if (real) return path.join(real, ...rest)
    const parent = path.dirname(dir)
    if (parent === dir) return p
    rest.unshift(path.basename(dir))
    dir = parent
  }
}

function overlaps(a: string, b: string): boolean {
  const inside = (x: string, y: string): boolean => {
    const rel = path.relative(y, x)
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
  }
  return inside(a, b) || inside(b, a)
}
