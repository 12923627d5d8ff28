/**
 * The interpreter for convert_hf_to_gguf.py: the convert-python input, or a venv of its own made
 * from the newest Python on this machine that can install the checkout's convert requirements.
 */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import semver from 'semver'
import { toolCacheRoot } from '../core/config.js'
import { lastLine, probe, runStep } from '../core/run.js'
import { ActionError } from '../core/types.js'
import * as log from '../core/log.js'

export const CONVERT_REQUIREMENTS = path.join('requirements', 'requirements-convert_hf_to_gguf.txt')

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

const VERSION_CODE = 'import sys; print("%d.%d.%d" % sys.version_info[:3])'

/** An interpreter found on this machine, with its version. */
export interface Interpreter {
  command: string
  version: string
}

/** A candidate that answered as Python does, with a version semver can read; null otherwise. */
export async function interpreterVersion(command: string): Promise<string | null> {
  const r = await probe(command, ['-c', VERSION_CODE])
  const version = r.code === 0 ? r.stdout.split('\n').pop()?.trim() : undefined
  return version && semver.valid(version) ? version : null
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

/**
 * Asks pip whether `python` can install the requirements from wheels, without installing
 * anything. `--dry-run --report` also passes PEP 668's externally-managed check (Homebrew's
 * Python), which pip skips for exactly that pair (pypa/pip 23.x, src/pip/_internal/commands/install.py).
 */
async function canInstall(python: string, requirements: string): Promise<string | null> {
  const r = await probe(python, [
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
    '-r',
    requirements
  ])
  return r.code === 0 ? null : lastLine(r.out)
}

/** The convert environment made for a checkout commit and a Python version. */
export function convertEnvDir(commit: string, pyVersion: string, root?: string): string {
  const base = root ?? toolCacheRoot()
  return path.join(base, 'mlx-fuse-action', `convert-${commit.slice(0, 12)}-py${pyVersion}`)
}

/** The file a convert environment holds once its requirements are installed. */
export const convertEnvMarker = (dir: string): string => path.join(dir, '.requirements-installed')

/**
 * Returns `convertPython` when set (it must run), else a virtual environment made from the
 * checkout's own requirements, kept apart from mlx-lm's (their transformers pins conflict) and
 * reused while the checkout's commit and the interpreter's version are the same.
 */
export async function resolveConvertPython(opts: {
  convertPython: string | null
  llamaDir: string
  commit: string
  venvRoot?: string
  candidates?: readonly string[]
}): Promise<string> {
  if (opts.convertPython) {
    if (!(await interpreterVersion(opts.convertPython))) {
      const r = await probe(opts.convertPython, ['-c', VERSION_CODE])
      throw new ActionError(
        `Input convert-python "${opts.convertPython}" does not answer as a Python interpreter does (${lastLine(r.out)}); point it at a Python that has llama.cpp's ${CONVERT_REQUIREMENTS}, or leave it empty.`
      )
    }
    return opts.convertPython
  }
  const requirements = path.join(opts.llamaDir, CONVERT_REQUIREMENTS)
  if (!(await fs.stat(requirements).catch(() => null))) {
    throw new ActionError(
      `The llama.cpp checkout ${opts.llamaDir} has no ${CONVERT_REQUIREMENTS}; set convert-python to an interpreter that can run convert_hf_to_gguf.py.`
    )
  }
  const envDir = (version: string): string => convertEnvDir(opts.commit, version, opts.venvRoot)

  const interpreters = await findInterpreters(opts.candidates)
  for (const { version } of interpreters) {
    const dir = envDir(version)
    if (await fs.stat(convertEnvMarker(dir)).catch(() => null)) {
      log.info(`Reusing the convert environment ${dir}.`)
      return path.join(dir, 'bin', 'python')
    }
  }
  const refused: string[] = []
  for (const interpreter of interpreters) {
    const why = await canInstall(interpreter.command, requirements)
    if (why === null) return createEnv(interpreter, envDir(interpreter.version), requirements)
    refused.push(`${interpreter.command} ${interpreter.version} (pip: ${why})`)
  }
  const found = refused.length ? `found ${refused.join('; ')}` : 'found no Python 3 on PATH'
  throw new ActionError(
    `No Python here can install llama.cpp's ${CONVERT_REQUIREMENTS} from wheels (${found}); install Python 3.12 (macOS: brew install python@3.12; Debian: apt-get install python3 python3-venv) or set convert-python to an interpreter that has those requirements.`
  )
}

async function createEnv(
  interpreter: Interpreter,
  dir: string,
  requirements: string
): Promise<string> {
  const python = path.join(dir, 'bin', 'python')
  await core.group(
    `Creating the convert environment in ${dir} (${interpreter.command} ${interpreter.version}) from ${CONVERT_REQUIREMENTS}`,
    async () => {
      await fs.rm(dir, { recursive: true, force: true })
      for (const [cmd, args, what] of [
        [interpreter.command, ['-m', 'venv', dir], 'Creating the convert environment'],
        [
          python,
          ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', requirements],
          `Installing ${CONVERT_REQUIREMENTS}`
        ]
      ] as const) {
        await runStep({
          tool: what,
          bin: cmd,
          args,
          cwd: path.dirname(path.dirname(requirements)),
          hint: 'set convert-python to an interpreter that has those requirements',
          failure: r =>
            `${what} failed with exit code ${r.code} (${r.tail.last(3)}); set convert-python to an interpreter that has those requirements.`
        })
      }
      await fs.writeFile(convertEnvMarker(dir), `${new Date().toISOString()}\n`)
    }
  )
  return python
}
