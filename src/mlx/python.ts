/** Finds (or creates) a Python with mlx_lm, reads its version and the fuse command's flags. */
import semver from 'semver'
import { lastLine } from '../core/run.js'
import { absoluteInterpreter, probePython, VERSION_CODE } from '../core/python.js'
import { ActionError } from '../core/types.js'
import { actionEnvRoot, ensureEnv, type EnvSpec } from '../core/venv.js'

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
  /** With cache-toolchain and the action's own environment: the summary's line about it. */
  toolchain?: string
}

const MLX_VERSION_CODE =
  'import importlib.metadata as m\ntry:\n    print(m.version("mlx-lm"))\nexcept m.PackageNotFoundError:\n    import mlx_lm; print(mlx_lm.__version__)'

async function pythonVersion(python: string, what: string): Promise<string> {
  const r = await probePython(python, ['-c', VERSION_CODE])
  if (r.code !== 0) {
    throw new ActionError({
      problem: `${what} "${python}" does not run (${lastLine(r.out)})`,
      fix: `set the python input to a Python 3.10+ interpreter, for example one from actions/setup-python`
    })
  }
  const version = r.out.split('\n').pop()?.trim() ?? ''
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    // /bin/true prints nothing and /bin/echo prints its arguments: neither is a Python.
    const said =
      version === '' ? 'printed nothing' : `printed ${JSON.stringify(version.slice(0, 80))}`
    throw new ActionError({
      problem: `${what} "${python}" did not answer as Python does: asked for its version (-c "${VERSION_CODE}") it exited 0 but ${said}`,
      fix: `set the python input to a Python 3.10+ interpreter, for example one from actions/setup-python`
    })
  }
  if (semver.lt(version, '3.10.0')) {
    throw new ActionError({
      problem: `${what} "${python}" is Python ${version}, and mlx-lm needs Python 3.10 or newer`,
      fix: `add an actions/setup-python step with python-version "3.12" before this one, or set the python input`
    })
  }
  return version
}

export async function mlxLmVersion(python: string): Promise<string | null> {
  const r = await probePython(python, ['-c', MLX_VERSION_CODE])
  return r.code === 0 ? (r.out.split('\n').pop() ?? null) : null
}

/** Resolves the interpreter: the `python` input, else python3 with mlx_lm, else a venv. */
export async function resolveMlxEnv(opts: {
  python: string | null
  mlxLmVersion: string
  /** The tool cache folder (default: the runner's); environments live in its mlx-fuse-action/python-envs. */
  venvRoot?: string
  /** cache-toolchain: restore and save the action's own environment through the Actions cache. */
  cacheToolchain?: boolean
}): Promise<MlxEnv> {
  if (opts.python) {
    // Launches run in a folder the action owns: a relative path is made absolute here.
    const python = absoluteInterpreter(opts.python)
    const pyVersion = await pythonVersion(python, 'Input python')
    const version = await mlxLmVersion(python)
    if (!version) {
      throw new ActionError({
        problem: `Input python "${opts.python}" cannot import mlx_lm`,
        fix: `run "${opts.python} -m pip install mlx-lm==${opts.mlxLmVersion}" first, or leave python empty so the action creates an environment`
      })
    }
    return probeMlxEnv(python, pyVersion, version, 'input')
  }
  const onPath = await probePython('python3', ['-c', VERSION_CODE])
  if (onPath.code === 0) {
    const version = await mlxLmVersion('python3')
    if (version)
      return probeMlxEnv(
        'python3',
        await pythonVersion('python3', 'python3 on PATH'),
        version,
        'path'
      )
  }
  await pythonVersion('python3', 'python3 on PATH')
  const spec = mlxEnvSpec(opts.mlxLmVersion, 'python3', opts.venvRoot)
  const env = await ensureEnv(
    opts.cacheToolchain ? { ...spec, cache: { check: 'import mlx_lm' } } : spec
  )
  const version = await mlxLmVersion(env.python)
  if (!version) {
    throw new ActionError({
      problem: `The virtual environment ${env.dir} has no mlx_lm after installing mlx-lm==${opts.mlxLmVersion}`,
      fix: `delete that folder and run again`
    })
  }
  const probed = await probeMlxEnv(
    env.python,
    await pythonVersion(env.python, 'The virtual environment python'),
    version,
    'venv'
  )
  return env.toolchain ? { ...probed, toolchain: env.toolchain } : probed
}

/**
 * What the action's own mlx-lm environment installs: `mlx-lm[cpu]==V` on Linux (MLX's CPU backend,
 * package mlx-cpu; ml-explore/mlx-lm v0.28.3 setup.py added the `cpu` extra, and without it pip
 * installs no mlx on Linux, the requirement being macOS-only), `mlx-lm==V` elsewhere.
 */
export function mlxEnvSpec(
  mlxLm: string,
  base = 'python3',
  toolCache?: string,
  platform: NodeJS.Platform = process.platform
): EnvSpec {
  const pkg = platform === 'linux' ? `mlx-lm[cpu]==${mlxLm}` : `mlx-lm==${mlxLm}`
  return {
    name: `mlx-lm-${mlxLm}`,
    base,
    steps: [{ packages: [pkg] }],
    root: actionEnvRoot(toolCache),
    hint: 'check the log above, or set the python input to an interpreter that has mlx_lm'
  }
}

/**
 * Probes an interpreter that imports mlx_lm: which fuse entry point it has (`python -m mlx_lm fuse`
 * or `python -m mlx_lm.fuse`) and which flags its --help offers; the environment the run uses.
 */
export async function probeMlxEnv(
  python: string,
  pyVersion: string,
  version: string,
  source: MlxEnv['source']
): Promise<MlxEnv> {
  const sub = await probePython(python, ['-m', 'mlx_lm', 'fuse', '--help'])
  const entry = sub.code === 0 && sub.out.includes('--adapter-path') ? 'subcommand' : 'module'
  const help =
    entry === 'subcommand' ? sub : await probePython(python, ['-m', 'mlx_lm.fuse', '--help'])
  if (help.code !== 0) {
    throw new ActionError({
      problem: `"${python} -m mlx_lm.fuse --help" failed (${lastLine(help.out)})`,
      fix: `reinstall mlx-lm in that environment (pip install mlx-lm==${version})`
    })
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
    throw new ActionError({
      problem: `mlx-lm 0.28.4 crashes when de-quantizing (NameError: dequantize, fixed in 0.29)`,
      fix: `set mlx-lm-version to ${'0.29.0'} or newer (or upgrade the python input's mlx-lm), or set dequantize: false`
    })
  }
  if (!env.dequantizeFlag) {
    throw new ActionError({
      problem: `mlx-lm ${env.mlxLmVersion}'s fuse command has no de-quantize flag`,
      fix: `upgrade mlx-lm (mlx-lm-version) or set dequantize: false`
    })
  }
}
