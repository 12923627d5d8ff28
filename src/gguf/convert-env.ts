/**
 * The interpreter for convert_hf_to_gguf.py: the convert-python input, or an environment of its
 * own (made by src/core/venv.ts) from the newest Python on this machine that can install the
 * checkout's convert requirements: a CPU-capable torch 2.13.0 first, then a filtered copy of the
 * checkout's requirements.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import semver from 'semver'
import { lastLine } from '../core/run.js'
import {
  absoluteInterpreter,
  interpreterVersion,
  probePython,
  VERSION_CODE
} from '../core/python.js'
import { ActionError } from '../core/types.js'
import { actionEnvRoot, ensureEnv, findEnv, type EnvSpec } from '../core/venv.js'

export { interpreterVersion } from '../core/python.js'

export const CONVERT_REQUIREMENTS = path.join('requirements', 'requirements-convert_hf_to_gguf.txt')

/**
 * The torch the converter environment installs first. llama.cpp v0.4.0 pins `torch==2.11.0` with
 * PyTorch's CPU index as an extra index (ggml-org/llama.cpp v0.4.0,
 * requirements/requirements-convert_hf_to_gguf.txt); from the Python package index alone that pin
 * is a CUDA build of several GB on Linux. torch 2.13.0 has the CPU build this project can install,
 * and the converter runs with it.
 */
export const CONVERT_TORCH = 'torch==2.13.0'

/**
 * Interpreters looked for, versioned names first: Homebrew and python.org put the newest Python
 * first on PATH as `python3`, while llama.cpp v0.4.0's requirements pin numpy~=1.26.4, which has
 * no wheels for Python 3.13 or newer (ggml-org/llama.cpp v0.4.0,
 * requirements/requirements-convert_legacy_llama.txt, included by
 * requirements-convert_hf_to_gguf.txt), though its pyproject.toml says requires-python
 * >=3.10,<3.15. Which one can install them is pip's answer, not a constant.
 */
export const CONVERT_CANDIDATES: readonly string[] = [
  'python3.14',
  'python3.13',
  'python3.12',
  'python3.11',
  'python3.10',
  'python3'
]

/** An interpreter found on this machine, with its version. */
export interface Interpreter {
  command: string
  version: string
}

/** Every candidate that runs, newest version first, one per version (the first name found wins). */
export async function findInterpreters(
  candidates: readonly string[] = CONVERT_CANDIDATES
): Promise<Interpreter[]> {
  const found: Interpreter[] = []
  for (const command of candidates) {
    const version = await interpreterVersion(command)
    if (version && !found.some(f => f.version === version)) found.push({ command, version })
  }
  return found.sort((a, b) => semver.rcompare(a.version, b.version))
}

/** The requirement name of a requirements line (`torch==2.11.0` → `torch`), lower-case. */
const requirementName = (line: string): string =>
  (/^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1] ?? '').toLowerCase().replace(/[-_.]+/g, '-')

/**
 * The checkout's convert requirements as one file without torch and without index options: the
 * files it includes (`-r FILE`, relative to the including file) inlined, its `torch` pin and every
 * other option line (`--extra-index-url ...`) dropped. A filtered copy, not a constraint: pip
 * refuses two different `==` pins of one package.
 */
export async function filteredRequirements(
  file: string,
  seen = new Set<string>()
): Promise<string> {
  if (seen.has(file)) return ''
  seen.add(file)
  const text = await fs.readFile(file, 'utf8')
  const out: string[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    if (line === '') continue
    const include = /^(?:-r|--requirement)(?:\s+|=)(.+)$/.exec(line)
    if (include) {
      out.push(await filteredRequirements(path.resolve(path.dirname(file), include[1]), seen))
      continue
    }
    if (line.startsWith('-') || requirementName(line) === 'torch') continue
    out.push(line)
  }
  return out.filter(l => l !== '').join('\n')
}

/** The converter environment for a checkout commit, made from `base`. */
export function convertEnvSpec(opts: {
  base: string
  commit: string
  requirements: string
  toolCache?: string
}): EnvSpec {
  return {
    name: `convert-${opts.commit.slice(0, 12)}`,
    base: opts.base,
    steps: [
      { packages: [CONVERT_TORCH] },
      { requirements: `${opts.requirements}\n`, fileName: 'requirements-convert_hf_to_gguf.txt' }
    ],
    root: actionEnvRoot(opts.toolCache),
    hint: 'set convert-python to an interpreter that has those requirements'
  }
}

/**
 * Asks pip whether `python` can install the requirements from wheels, without installing
 * anything. `--dry-run --report` also passes PEP 668's externally-managed check (Homebrew's
 * Python), which pip skips for exactly that pair (pypa/pip 23.x, src/pip/_internal/commands/install.py).
 */
async function canInstall(python: string, requirements: string): Promise<string | null> {
  const r = await probePython(python, [
    '-m',
    'pip',
    'install',
    '--dry-run',
    '--ignore-installed',
    '--only-binary=:all:',
    '--disable-pip-version-check',
    '--quiet',
    '--report',
    '-',
    CONVERT_TORCH,
    ...requirements.split('\n').filter(l => l !== '')
  ])
  return r.code === 0 ? null : lastLine(r.out)
}

/**
 * Returns `convertPython` when set (it must run), else the converter environment made from the
 * checkout's own requirements, kept apart from mlx-lm's (their transformers pins conflict) and
 * reused while the requirements and the interpreter's version are the same.
 */
export async function resolveConvertPython(opts: {
  convertPython: string | null
  llamaDir: string
  commit: string
  /** The tool cache folder (default: the runner's). */
  venvRoot?: string
  candidates?: readonly string[]
  /** cache-toolchain: restore and save the environment through the Actions cache. */
  cacheToolchain?: boolean
  /** With cacheToolchain: the summary's line about the environment is added here. */
  toolchain?: string[]
}): Promise<string> {
  if (opts.convertPython) {
    const python = absoluteInterpreter(opts.convertPython)
    if (!(await interpreterVersion(python))) {
      const r = await probePython(python, ['-c', VERSION_CODE])
      throw new ActionError({
        problem: `Input convert-python "${opts.convertPython}" does not answer as a Python interpreter does (${lastLine(r.out)})`,
        fix: `point it at a Python that has llama.cpp's ${CONVERT_REQUIREMENTS}, or leave it empty`
      })
    }
    return python
  }
  const file = path.join(opts.llamaDir, CONVERT_REQUIREMENTS)
  if (!(await fs.stat(file).catch(() => null))) {
    throw new ActionError({
      problem: `The llama.cpp checkout ${opts.llamaDir} has no ${CONVERT_REQUIREMENTS}`,
      fix: `set convert-python to an interpreter that can run convert_hf_to_gguf.py`
    })
  }
  const requirements = await filteredRequirements(file)
  const spec = (base: string): EnvSpec => ({
    ...convertEnvSpec({ base, commit: opts.commit, requirements, toolCache: opts.venvRoot }),
    // What convert_hf_to_gguf.py imports first (its gguf-py comes from the checkout).
    ...(opts.cacheToolchain ? { cache: { check: 'import numpy, torch, transformers' } } : {})
  })
  const note = (env: { toolchain?: string }): void => {
    if (env.toolchain) opts.toolchain?.push(env.toolchain)
  }

  const interpreters = await findInterpreters(opts.candidates)
  for (const { command } of interpreters) {
    const ready = await findEnv(spec(command))
    if (ready) {
      if (opts.cacheToolchain) {
        opts.toolchain?.push(
          `Python environment ${spec(command).name}: reused (already on the runner)`
        )
      }
      return ready.python
    }
  }
  const refused: string[] = []
  for (const interpreter of interpreters) {
    const why = await canInstall(interpreter.command, requirements)
    if (why === null) {
      const env = await ensureEnv(spec(interpreter.command))
      note(env)
      return env.python
    }
    refused.push(`${interpreter.command} ${interpreter.version} (pip: ${why})`)
  }
  const found = refused.length ? `found ${refused.join('; ')}` : 'found no Python 3 on PATH'
  throw new ActionError({
    problem: `No Python here can install llama.cpp's ${CONVERT_REQUIREMENTS} from wheels (${found})`,
    fix: `install Python 3.12 (macOS: brew install python@3.12; Debian: apt-get install python3 python3-venv) or set convert-python to an interpreter that has those requirements`
  })
}
