/**
 * Launches Python so that the job's checkout cannot take its place: every launch runs in a working
 * directory the action owns (a private empty folder) with absolute paths in its argv, and `-m`/`-c`
 * launches get `-P` on Python 3.11+.
 *
 * Why: `python -m pkg` and `python -c CODE` put the working directory first on `sys.path`
 * (CPython's Modules/main.c, pymain_run_python; docs "The initialization of the sys.path module
 * search path"), so a pull request that adds a folder `mlx_lm/` or `pip/` to the checkout would run
 * its own code as `python -m mlx_lm` or `python -m pip` when the checkout is the working directory.
 * `-P` (CPython 3.11, "Don't prepend a potentially unsafe path to sys.path") leaves it out; on 3.10
 * the owned empty folder is what is prepended. A script (`python /abs/convert_hf_to_gguf.py`) gets
 * its own folder prepended, never the working directory, and needs it (llama.cpp's converter imports
 * its `conversion` package from there), so scripts run without `-P`.
 */
import { mkdirSync, mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import semver from 'semver'
import { probe, runStep, runTool, type RunOptions, type RunResult, type Step } from './run.js'

export const VERSION_CODE = 'import sys; print("%d.%d.%d" % sys.version_info[:3])'

let owned: string | null = null

/**
 * The working directory of every Python launch: one private empty folder per action run, under
 * the runner's temporary folder (RUNNER_TEMP, emptied after each job) or the system's.
 */
export function pythonWorkDir(): string {
  if (owned === null) {
    const parent = process.env.RUNNER_TEMP || os.tmpdir()
    mkdirSync(parent, { recursive: true })
    owned = mkdtempSync(path.join(parent, 'mlx-fuse-python-'))
  }
  return owned
}

/**
 * An interpreter argument as an absolute path when it names a file by a relative path
 * (`.venv/bin/python`), since launches do not run in the directory it is relative to; a bare
 * command name (`python3`) stays for PATH to resolve.
 */
export function absoluteInterpreter(python: string, cwd = process.cwd()): string {
  return python.includes('/') ? path.resolve(cwd, python) : python
}

const versions = new Map<string, string | null>()

/** `x.y.z` of `python` (asked once per interpreter and run), or null when it does not answer so. */
export async function interpreterVersion(python: string): Promise<string | null> {
  const bin = absoluteInterpreter(python)
  if (!versions.has(bin)) {
    const r = await probe(bin, ['-c', VERSION_CODE], { cwd: pythonWorkDir() })
    const version = r.code === 0 ? r.stdout.split('\n').pop()?.trim() : undefined
    // Only a successful answer is kept: a missing interpreter may be installed later in the run.
    if (version && semver.valid(version)) versions.set(bin, version)
    else return null
  }
  return versions.get(bin) ?? null
}

/** Forgets the versions asked so far (tests that swap interpreters behind one path). */
export function forgetInterpreterVersions(): void {
  versions.clear()
}

/** The argv for `python args` as launched here: `-P` first for `-m`/`-c` on Python 3.11+. */
export async function pythonArgs(python: string, args: readonly string[]): Promise<string[]> {
  const version = await interpreterVersion(python)
  const isModuleOrCode = args[0] === '-m' || args[0] === '-c'
  return isModuleOrCode && version !== null && semver.gte(version, '3.11.0')
    ? ['-P', ...args]
    : [...args]
}

/** {@link probe} for Python: owned working directory, `-P` where it applies. */
export async function probePython(
  python: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'silent' | 'cwd'> = {}
): Promise<{ code: number; out: string; stdout: string }> {
  const bin = absoluteInterpreter(python)
  return probe(bin, await pythonArgs(bin, args), { ...opts, cwd: pythonWorkDir() })
}

/** {@link runTool} for Python: owned working directory, `-P` where it applies. */
export async function runPython(
  python: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'cwd'> = {}
): Promise<RunResult> {
  const bin = absoluteInterpreter(python)
  return runTool(bin, await pythonArgs(bin, args), { ...opts, cwd: pythonWorkDir() })
}

/** {@link runStep} for Python (`step.bin` is the interpreter): owned working directory, `-P`. */
export async function runPythonStep(step: Omit<Step, 'cwd'>): Promise<RunResult> {
  const bin = absoluteInterpreter(step.bin)
  return runStep({
    ...step,
    bin,
    args: await pythonArgs(bin, step.args),
    cwd: pythonWorkDir()
  })
}
