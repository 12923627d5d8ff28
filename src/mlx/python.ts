/** Finds (or creates) a Python with mlx_lm, reads its version and the fuse command's flags. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import semver from 'semver'
import { toolCacheRoot } from '../core/config.js'
import { lastLine, probe, runStep } from '../core/run.js'
import { ActionError } from '../core/types.js'
import * as log from '../core/log.js'

export interface MlxEnv {
  python: string
  pythonVersion: string
  mlxLmVersion: string
  /** `-m mlx_lm fuse` style (['-m', 'mlx_lm']) or the old module style (['-m', 'mlx_lm.fuse']). */
  entry: 'subcommand' | 'module'
  /** The de-quantize flag this version spells, or null when its fuse has none. */
  dequantizeFlag: '--dequantize' | '--de-quantize' | null
  /**
   * True when this fuse has `--trust-remote-code` (it came with the model_file gate, after
   * 0.31.3; convert has had the flag since before 0.28.3, so it has it too).
   */
  trustRemoteCodeFlag: boolean
  /** How the interpreter was chosen, for the summary. */
  source: 'input' | 'path' | 'venv'
}

const VERSION_CODE = 'import sys; print("%d.%d.%d" % sys.version_info[:3])'
const MLX_VERSION_CODE =
  'import importlib.metadata as m\ntry:\n    print(m.version("mlx-lm"))\nexcept m.PackageNotFoundError:\n    import mlx_lm; print(mlx_lm.__version__)'

async function pythonVersion(python: string, what: string): Promise<string> {
  const r = await probe(python, ['-c', VERSION_CODE])
  if (r.code !== 0) {
    throw new ActionError(
      `${what} "${python}" does not run (${lastLine(r.out)}); set the python input to a Python 3.10+ interpreter, for example one from actions/setup-python.`
    )
  }
  const version = r.out.split('\n').pop()?.trim() ?? ''
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    // /bin/true prints nothing and /bin/echo prints its arguments: neither is a Python.
    const said =
      version === '' ? 'printed nothing' : `printed ${JSON.stringify(version.slice(0, 80))}`
    throw new ActionError(
      `${what} "${python}" did not answer as Python does: asked for its version (-c "${VERSION_CODE}") it exited 0 but ${said}; set the python input to a Python 3.10+ interpreter, for example one from actions/setup-python.`
    )
  }
  if (semver.lt(version, '3.10.0')) {
    throw new ActionError(
      `${what} "${python}" is Python ${version}, and mlx-lm needs Python 3.10 or newer; add an actions/setup-python step with python-version "3.12" before this one, or set the python input.`
    )
  }
  return version
}

export async function mlxLmVersion(python: string): Promise<string | null> {
  const r = await probe(python, ['-c', MLX_VERSION_CODE])
  return r.code === 0 ? (r.out.split('\n').pop() ?? null) : null
}

/** Resolves the interpreter: the `python` input, else python3 with mlx_lm, else a venv. */
export async function resolveMlxEnv(opts: {
  python: string | null
  mlxLmVersion: string
  venvRoot?: string
}): Promise<MlxEnv> {
  if (opts.python) {
    const pyVersion = await pythonVersion(opts.python, 'Input python')
    const version = await mlxLmVersion(opts.python)
    if (!version) {
      throw new ActionError(
        `Input python "${opts.python}" cannot import mlx_lm; run "${opts.python} -m pip install mlx-lm==${opts.mlxLmVersion}" first, or leave python empty so the action creates an environment.`
      )
    }
    return describe(opts.python, pyVersion, version, 'input')
  }
  const onPath = await probe('python3', ['-c', VERSION_CODE])
  if (onPath.code === 0) {
    const version = await mlxLmVersion('python3')
    if (version)
      return describe('python3', await pythonVersion('python3', 'python3 on PATH'), version, 'path')
  }
  const basePyVersion = await pythonVersion('python3', 'python3 on PATH')
  const venv = await ensureVenv(opts.mlxLmVersion, basePyVersion, opts.venvRoot)
  const version = await mlxLmVersion(venv)
  if (!version) {
    throw new ActionError(
      `The virtual environment ${path.dirname(path.dirname(venv))} has no mlx_lm after installing mlx-lm==${opts.mlxLmVersion}; delete that folder and run again.`
    )
  }
  return describe(
    venv,
    await pythonVersion(venv, 'The virtual environment python'),
    version,
    'venv'
  )
}

/** The virtual environment the action makes for mlx-lm `mlxLm` from Python `pyVersion`. */
export function mlxVenvDir(mlxLm: string, pyVersion: string, root?: string): string {
  const base = root ?? toolCacheRoot()
  return path.join(base, 'mlx-fuse-action', `mlx-lm-${mlxLm}-py${pyVersion}`)
}

async function ensureVenv(mlxLm: string, pyVersion: string, root?: string): Promise<string> {
  const dir = mlxVenvDir(mlxLm, pyVersion, root)
  const python = path.join(dir, 'bin', 'python')
  if ((await mlxLmVersion(python)) === mlxLm) {
    log.info(`Reusing the virtual environment ${dir} (mlx-lm ${mlxLm}).`)
    return python
  }
  await core.group(`Creating a Python environment with mlx-lm==${mlxLm} in ${dir}`, async () => {
    await fs.rm(dir, { recursive: true, force: true })
    await run('python3', ['-m', 'venv', dir], 'Creating the virtual environment')
    await run(
      python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', `mlx-lm==${mlxLm}`],
      `Installing mlx-lm==${mlxLm}`
    )
  })
  return python
}

async function run(cmd: string, args: string[], what: string): Promise<void> {
  await runStep({
    tool: what,
    bin: cmd,
    args,
    hint: 'check the log above, or set the python input to an interpreter that has mlx_lm',
    failure: r =>
      `${what} failed with exit code ${r.code} (${r.tail.last(3)}); check the log above, or set the python input to an interpreter that has mlx_lm.`
  })
}

export async function describe(
  python: string,
  pyVersion: string,
  version: string,
  source: MlxEnv['source']
): Promise<MlxEnv> {
  const sub = await probe(python, ['-m', 'mlx_lm', 'fuse', '--help'])
  const entry = sub.code === 0 && sub.out.includes('--adapter-path') ? 'subcommand' : 'module'
  const help = entry === 'subcommand' ? sub : await probe(python, ['-m', 'mlx_lm.fuse', '--help'])
  if (help.code !== 0) {
    throw new ActionError(
      `"${python} -m mlx_lm.fuse --help" failed (${lastLine(help.out)}); reinstall mlx-lm in that environment (pip install mlx-lm==${version}).`
    )
  }
  return {
    python,
    pythonVersion: pyVersion,
    mlxLmVersion: version,
    entry,
    dequantizeFlag: detectDequantizeFlag(help.out),
    trustRemoteCodeFlag: /(^|\s)--trust-remote-code\b/.test(help.out),
    source
  }
}

/** The flag's spelling changed in 0.28.4; read it from --help, never from the version. */
export function detectDequantizeFlag(help: string): MlxEnv['dequantizeFlag'] {
  if (/(^|\s)--dequantize\b/.test(help)) return '--dequantize'
  if (/(^|\s)--de-quantize\b/.test(help)) return '--de-quantize'
  return null
}

/** The argv prefix that runs an mlx_lm subcommand in this environment. */
export function mlxCommand(env: MlxEnv, sub: 'fuse' | 'convert'): string[] {
  return env.entry === 'subcommand' ? ['-m', 'mlx_lm', sub] : ['-m', `mlx_lm.${sub}`]
}

/** Refuses combinations known to crash, before any work. */
export function checkDequantizeSupport(env: MlxEnv, dequantize: boolean): void {
  if (!dequantize) return
  if (env.mlxLmVersion === '0.28.4') {
    throw new ActionError(
      `mlx-lm 0.28.4 crashes when de-quantizing (NameError: dequantize, fixed in 0.29); set mlx-lm-version to ${'0.29.0'} or newer (or upgrade the python input's mlx-lm), or set dequantize: false.`
    )
  }
  if (!env.dequantizeFlag) {
    throw new ActionError(
      `mlx-lm ${env.mlxLmVersion}'s fuse command has no de-quantize flag; upgrade mlx-lm (mlx-lm-version) or set dequantize: false.`
    )
  }
}
