/** Runs `mlx_lm fuse` and `mlx_lm convert` into staging folders, so no half-written model is left. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { discard, removeIfEmpty } from '../core/workspace.js'
import { describeExit, type OutputTail } from '../core/run.js'
import { pythonArgs, runPythonStep } from '../core/python.js'
import * as log from '../core/log.js'
import { ActionError } from '../core/types.js'
import { dropStaleQuantizationConfig } from './model-config.js'
import { mlxCommand, type MlxEnv } from './python.js'
import { listWeightFiles, readSafetensorsHeader } from './safetensors.js'

export interface FuseRequest {
  env: MlxEnv
  model: string
  adapterPath: string
  dequantize: boolean
  hfToken: string | null
  /** trust-remote-code: let mlx_lm run the model's own code (config.json `model_file`). */
  trustRemoteCode: boolean
}

/** `--trust-remote-code` when asked for and this mlx-lm has it (older ones never ask). */
function trustFlag(req: Pick<FuseRequest, 'env' | 'trustRemoteCode'>): string[] {
  return req.trustRemoteCode && req.env.trustRemoteCodeFlag ? ['--trust-remote-code'] : []
}

/** Fuses into `outDir` (a staging folder); returns the command line it ran. Removes `outDir` on failure. */
export async function runFuse(req: FuseRequest, outDir: string): Promise<string[]> {
  const args = [
    ...mlxCommand(req.env, 'fuse'),
    '--model',
    req.model,
    '--adapter-path',
    req.adapterPath,
    '--save-path',
    outDir
  ]
  if (req.dequantize && req.env.dequantizeFlag) args.push(req.env.dequantizeFlag)
  args.push(...trustFlag(req))
  const title = req.dequantize
    ? 'Fusing the adapters into the base model, de-quantized to 16-bit (mlx_lm fuse)'
    : 'Fusing the adapters into the base model (mlx_lm fuse)'
  await runStep(req, title, args, outDir, 'mlx_lm fuse')
  if (req.dequantize && (await dropStaleQuantizationConfig(outDir))) {
    log.info(
      `mlx-lm ${req.env.mlxLmVersion} left a stale quantization_config in the de-quantized model's config.json (fixed in mlx-lm 0.29); removed it, so the model loads again (mlx_lm would fail with KeyError: 'quant_method').`
    )
  }
  return [req.env.python, ...(await pythonArgs(req.env.python, args))] // as run: -P included
}

/** Re-quantizes a full-precision model with `mlx_lm convert -q`; `outDir` must not exist. */
export async function runConvert(
  req: Pick<FuseRequest, 'env' | 'hfToken' | 'trustRemoteCode'>,
  inDir: string,
  outDir: string,
  bits: number,
  groupSize: number
): Promise<string[]> {
  const args = [
    ...mlxCommand(req.env, 'convert'),
    '--hf-path',
    inDir,
    '--mlx-path',
    outDir,
    '-q',
    '--q-bits',
    String(bits),
    '--q-group-size',
    String(groupSize),
    ...trustFlag(req)
  ]
  await removeIfEmpty(outDir) // mlx_lm convert refuses an existing --mlx-path
  await runStep(
    req,
    `Re-quantizing the fused model to ${bits}-bit (mlx_lm convert)`,
    args,
    outDir,
    'mlx_lm convert'
  )
  return [req.env.python, ...(await pythonArgs(req.env.python, args))] // as run: -P included
}

/**
 * De-quantizes a model with `mlx_lm convert -d` into `outDir` (must not exist): the 16-bit base a
 * LoRA GGUF applies to, when the adapters were trained on a quantized base. `-d` is the short
 * form of `--dequantize` in every mlx-lm this action runs (mlx_lm/convert.py); it loads lazily
 * and frees each shard once written.
 */
export async function runDequantize(
  req: Pick<FuseRequest, 'env' | 'hfToken' | 'trustRemoteCode'>,
  inDir: string,
  outDir: string
): Promise<string[]> {
  const args = [
    ...mlxCommand(req.env, 'convert'),
    '--hf-path',
    inDir,
    '--mlx-path',
    outDir,
    '-d',
    ...trustFlag(req)
  ]
  await removeIfEmpty(outDir) // mlx_lm convert refuses an existing --mlx-path
  await runStep(
    req,
    'De-quantizing the base model to 16-bit for its GGUF (mlx_lm convert -d)',
    args,
    outDir,
    'mlx_lm convert'
  )
  if (await dropStaleQuantizationConfig(outDir)) {
    log.info(
      `mlx-lm ${req.env.mlxLmVersion} left a stale quantization_config in the de-quantized base's config.json; removed it.`
    )
  }
  return [req.env.python, ...(await pythonArgs(req.env.python, args))]
}

async function runStep(
  req: Pick<FuseRequest, 'env' | 'hfToken'>,
  title: string,
  args: string[],
  outDir: string,
  name: string
): Promise<void> {
  const env: Record<string, string> = { PYTHONUNBUFFERED: '1' }
  if (req.hfToken) env.HF_TOKEN = req.hfToken
  // In a folder the action owns, with -P: a checkout's own mlx_lm/ folder cannot stand in.
  const result = await runPythonStep({
    title,
    tool: name,
    bin: req.env.python,
    args,
    env,
    cleanup: [outDir],
    hint: `see the log group "${title}" for the whole output`,
    failure: r => ({
      problem: `${name} ${describeExit(r)}: ${r.tail.last(3)}`,
      fix: `the partial output was removed, see the log group "${title}" for the whole output`
    })
  })
  const missing = await incompleteModel(outDir)
  if (missing !== null) {
    await discard(outDir)
    throw new ActionError({
      problem: `${name} reported success (exit code 0) but wrote no complete model: ${missing}. Its last output lines: ${lastLines(result.tail)}. This is a fault of mlx_lm or of the machine (a full disk?), not of your inputs`,
      fix: `the partial output was removed, see the log group "${title}"`
    })
  }
}

function lastLines(tail: OutputTail): string {
  const text = tail.last(4)
  return text === '' ? '(none)' : text
}

/**
 * Why a folder an mlx_lm step says it wrote is not a complete model (no config.json, no weights,
 * a weight file that is not whole safetensors), or null when it is one.
 */
export async function incompleteModel(dir: string): Promise<string | null> {
  const entries = await fs.readdir(dir).catch(() => null)
  if (entries === null || entries.length === 0) return `${dir} is empty or missing`
  const config = await fs.readFile(path.join(dir, 'config.json'), 'utf8').catch(() => null)
  if (config === null) return `${dir} has no config.json`
  try {
    const parsed: unknown = JSON.parse(config)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error()
  } catch {
    return `${path.join(dir, 'config.json')} is not a JSON object`
  }
  try {
    for (const file of await listWeightFiles(dir)) await readSafetensorsHeader(file)
  } catch (error) {
    return error instanceof ActionError ? error.problem : String(error)
  }
  return null
}
