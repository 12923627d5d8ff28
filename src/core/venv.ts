/**
 * The one maker of Python environments (the action's mlx-lm and converter environments, and the
 * tests' environments from lock files): a venv made from a base interpreter, with pip installs in
 * order, cached under one root in a folder keyed by the hash of what is installed and the base
 * interpreter's version. One readiness rule: the folder holds {@link READY_MARKER} with that hash,
 * written last, after every install and `pip check` succeeded; anything else in its place is a
 * half-made environment, removed and made again.
 */
import * as core from '@actions/core'
import * as io from '@actions/io'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { toolCacheRoot, toolPaths } from './config.js'
import { removeTree } from './workspace.js'
import * as log from './log.js'
import { interpreterVersion, runPythonStep } from './python.js'
import { probe } from './run.js'
import { restoreToolchain, saveToolchain, toolCacheUnavailable } from './tool-cache.js'
import { ActionError } from './types.js'

export const READY_MARKER = '.mlx-fuse-ready'

/** One `pip install`: requirement specifiers, or a requirements file's text (written into the env). */
export type InstallStep =
  | { packages: readonly string[]; noDeps?: boolean }
  | {
      /** The file's text; it is written into the environment folder as `fileName` and installed with -r. */
      requirements: string
      fileName: string
      /** `--no-deps`: the file is a complete lock (every package pinned, transitive ones too). */
      noDeps?: boolean
    }

export interface EnvSpec {
  /** Names the folder and the messages: `mlx-lm-0.32.2`, `convert-80fb11ac73e6`. */
  name: string
  /** The interpreter the venv is made from (`python3`, `/usr/bin/python3.12`). */
  base: string
  steps: readonly InstallStep[]
  /** The cache folder that holds every environment. */
  root: string
  /** The fix that ends a failure sentence. */
  hint: string
  /**
   * `cache-toolchain`: when the environment is missing, restore it through the Actions cache and
   * check it by running `python -c <check>` (e.g. `import mlx_lm`); save it after it is made.
   */
  cache?: { check: string }
}

export interface ReadyEnv {
  dir: string
  python: string
  pythonVersion: string
  /** The hash of what is installed (in the folder name, and in the ready marker). */
  key: string
  /** False when it was made by this call. */
  reused: boolean
  /** True when it was restored from the Actions cache by this call. */
  restored?: boolean
  /**
   * With `spec.cache` (cache-toolchain): one line for the summary saying whether the environment
   * was reused, restored or made, how long that took, and whether it was saved.
   */
  toolchain?: string
}

/** Where the action keeps its environments: `<tool cache>/mlx-fuse-action/python-envs`. */
export function actionEnvRoot(toolCache: string = toolCacheRoot()): string {
  return toolPaths(toolCache).pythonEnvs
}

const bin = (dir: string): string => path.join(dir, 'bin', 'python')

/** The key of an environment: hash of the base's version and of every install step, in order. */
export function envKey(spec: Pick<EnvSpec, 'steps'>, pythonVersion: string): string {
  const h = createHash('sha256')
  h.update(`python ${pythonVersion}\n`)
  for (const step of spec.steps) h.update(`${JSON.stringify(step)}\n`)
  return h.digest('hex')
}

/** Where the environment for `spec` lives, made from a base Python of `pythonVersion`. */
export function envDir(
  spec: Pick<EnvSpec, 'name' | 'steps' | 'root'>,
  pythonVersion: string
): string {
  return path.join(
    spec.root,
    `${spec.name}-py${pythonVersion}-${envKey(spec, pythonVersion).slice(0, 12)}`
  )
}

async function baseVersion(spec: EnvSpec): Promise<string> {
  const version = await interpreterVersion(spec.base)
  if (!version) {
    throw new ActionError({
      problem: `The Python "${spec.base}" that the ${spec.name} environment is made from does not run or does not answer as Python does`,
      fix: spec.hint
    })
  }
  return version
}

/** The ready environment for `spec`, or null when there is none (nothing is made or removed). */
export async function findEnv(spec: EnvSpec): Promise<ReadyEnv | null> {
  const version = await baseVersion(spec)
  const dir = envDir(spec, version)
  const key = envKey(spec, version)
  const marker = await fs.readFile(path.join(dir, READY_MARKER), 'utf8').catch(() => null)
  if (marker?.trim() !== key) return null
  if (!(await fs.stat(bin(dir)).catch(() => null))) return null
  return { dir, python: bin(dir), pythonVersion: version, key, reused: true }
}

/**
 * The environment for `spec`: the cached one when it is ready, else made now (a half-made folder
 * in its place is removed first): `base -m venv DIR`, each install step with DIR's pip, `pip
 * check`, then the ready marker. A failure removes the folder and is one sentence ending in
 * `spec.hint`.
 */
export async function ensureEnv(spec: EnvSpec): Promise<ReadyEnv> {
  const found = await findEnv(spec)
  if (found) {
    log.info(`Reusing the Python environment ${found.dir}.`)
    if (!spec.cache) return found
    return {
      ...found,
      toolchain: `Python environment ${spec.name}: reused (already on the runner)`
    }
  }
  const version = await baseVersion(spec)
  const dir = envDir(spec, version)
  const key = envKey(spec, version)
  const python = bin(dir)
  const lines: string[] = []
  const part = spec.cache
    ? await cachedEnvPart(spec, spec.cache.check, dir, version, key, lines)
    : null
  if (part !== null && !(await fs.lstat(dir).catch(() => null))) {
    const result = await restoreToolchain(part)
    const took = `${(result.ms / 1000).toFixed(1)} s`
    if (result.status === 'restored') {
      const line = `Python environment ${spec.name}: restored from the Actions cache in ${took}`
      log.info(line)
      return {
        dir,
        python,
        pythonVersion: version,
        key,
        reused: false,
        restored: true,
        toolchain: line
      }
    }
    if (result.status === 'fault' || result.status === 'rejected') {
      core.notice(
        `The cached Python environment ${spec.name} was not used (${result.why}); it is made again.`
      )
      lines.push(`the cached copy was not used (${result.why})`)
    } else {
      lines.push(`not in the Actions cache (${took})`)
    }
  }
  const start = Date.now()
  await makeEnv(spec, dir, key, python)
  const made = `made in ${((Date.now() - start) / 1000).toFixed(1)} s`
  log.info(`Python environment ${spec.name}: ${made}`)
  lines.push(made)
  if (part !== null) {
    const why = await saveToolchain(part)
    if (why !== null) {
      core.notice(`The Python environment ${spec.name} was not saved to the Actions cache: ${why}.`)
    }
    lines.push(why === null ? 'saved to the Actions cache' : `not saved (${why})`)
  }
  const ready: ReadyEnv = { dir, python, pythonVersion: version, key, reused: false }
  return spec.cache
    ? { ...ready, toolchain: `Python environment ${spec.name}: ${lines.join('; ')}` }
    : ready
}

/** The environment as a cached toolchain part (key: OS, arch, base's real path and version, lock hash). */
async function cachedEnvPart(
  spec: EnvSpec,
  check: string,
  dir: string,
  version: string,
  key: string,
  lines: string[]
): Promise<Parameters<typeof restoreToolchain>[0] | null> {
  const unavailable = await toolCacheUnavailable()
  if (unavailable !== null) {
    core.notice(`The Python environment ${spec.name} is not cached: ${unavailable}.`)
    lines.push(`not cached (${unavailable})`)
    return null
  }
  const found = path.isAbsolute(spec.base) ? spec.base : await io.which(spec.base, false)
  const base = found ? await fs.realpath(found).catch(() => found) : spec.base
  return {
    label: `Python environment ${spec.name}`,
    kind: `env-${spec.name}`,
    dir,
    inputs: { base, python: version, lock: key },
    check: async d => {
      const marker = await fs.readFile(path.join(d, READY_MARKER), 'utf8').catch(() => null)
      if (marker?.trim() !== key) return `it lacks the ready marker ${key.slice(0, 12)}`
      const r = await probe(bin(d), ['-c', check])
      return r.code === 0 ? null : `python -c "${check}" exited with code ${r.code}`
    }
  }
}

async function makeEnv(spec: EnvSpec, dir: string, key: string, python: string): Promise<void> {
  const what = spec.steps
    .map(s => ('packages' in s ? s.packages.join(' ') : `-r ${s.fileName}`))
    .join(', then ')
  await core.group(`Creating a Python environment with ${what} in ${dir}`, async () => {
    await removeTree(dir)
    await fs.mkdir(spec.root, { recursive: true })
    const step = async (what: string, interpreter: string, args: string[]): Promise<void> => {
      await runPythonStep({
        tool: what,
        bin: interpreter,
        args,
        cleanup: [dir],
        hint: spec.hint,
        failure: r => ({
          problem: `${what} for the ${spec.name} environment failed with exit code ${r.code} (${r.tail.last(3)})`,
          fix: spec.hint
        })
      })
    }
    await step('Creating the virtual environment', spec.base, ['-m', 'venv', dir])
    for (const [i, s] of spec.steps.entries()) {
      const noDeps = s.noDeps ? ['--no-deps'] : []
      if ('packages' in s) {
        await step(`pip install ${s.packages.join(' ')}`, python, [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          ...noDeps,
          ...s.packages
        ])
      } else {
        const file = path.join(dir, `${i}-${path.basename(s.fileName)}`)
        await fs.writeFile(file, s.requirements)
        await step(`pip install -r ${s.fileName}`, python, [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          ...noDeps,
          '-r',
          file
        ])
      }
    }
    await step('pip check', python, ['-m', 'pip', 'check', '--disable-pip-version-check'])
    await fs.writeFile(path.join(dir, READY_MARKER), `${key}\n`)
  })
}
