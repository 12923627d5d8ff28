/**
 * The output folders: where output-dir and gguf-dir may go and what `overwrite: true` may empty
 * (the emptying and every other removal are in workspace.ts). The action never deletes a file it
 * did not make: a folder is emptied only when the manifest beside output-dir (written by this
 * action) names it.
 */
import { randomBytes } from 'node:crypto'
import { constants, promises as fs, readFileSync, unlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Config } from './config.js'
import { ActionError } from './types.js'

export const GENERATOR = 'mlx-fuse-action'
/** How messages name `<gguf-dir>.intermediates` (keep-intermediates: true). */
const INTERMEDIATES = 'gguf-dir (its .intermediates)'

/** The folders a run makes, recorded in its manifest as the proof that it may empty them later. */
export interface MadeFolders {
  outputDir: string
  ggufDir: string | null
  /** `<gguf-dir>.intermediates` (keep-intermediates: true), else null. */
  intermediates: string | null
}

/**
 * Checks every folder the run will write, before any work, and returns them: the manifest path
 * holds nothing but a manifest of this action, and each output folder may be made or replaced.
 */
export async function checkOutputFolders(config: Config): Promise<MadeFolders> {
  const g = config.gguf
  const folders: MadeFolders = {
    outputDir: config.outputDir,
    ggufDir: g ? g.dir : null,
    intermediates: g?.keepIntermediates ? `${g.dir}.intermediates` : null
  }
  const manifest = config.manifestPath
  // The lock first: every check below then sees what no other run of this action is changing.
  await checkWritableParent(folders.outputDir, 'output-dir')
  await lockOutputDir(folders.outputDir)
  if (folders.ggufDir) {
    // Two runs with their own output-dir may still share a gguf-dir.
    await checkWritableParent(folders.ggufDir, 'gguf-dir')
    await lockOutputDir(folders.ggufDir, 'gguf-dir')
  }
  await checkManifestPath(manifest)
  await checkOutputDir(folders.outputDir, 'output-dir', config.overwrite, manifest)
  if (folders.ggufDir) {
    await checkOutputDir(folders.ggufDir, 'gguf-dir', config.overwrite, manifest)
  }
  if (folders.intermediates) {
    // keep-intermediates always replaced this folder; now only when the manifest names it.
    await checkOutputDir(folders.intermediates, INTERMEDIATES, true, manifest)
  }
  return folders
}

/**
 * Refuses, before anything runs, an output-dir or gguf-dir that is or contains a folder the user
 * owns (the workspace, $HOME, /, a git work tree, the llama.cpp checkout, the imatrix file), that
 * overlaps the base model or the adapters, or a gguf-dir that overlaps output-dir. Links resolved.
 */
export async function checkOutputPlacement(config: Config, cwd = process.cwd()): Promise<void> {
  const g = config.gguf
  const outputs: Array<[string, string]> = [['output-dir', config.outputDir]]
  if (g) outputs.push(['gguf-dir', g.dir])
  if (g?.keepIntermediates) outputs.push([INTERMEDIATES, `${g.dir}.intermediates`])
  // Two-way: writing into these, or around them, would change or delete them.
  const overlapping: Array<[string, string | null, string]> = [
    ['base-model', config.baseModelDir, 'base model'],
    ['adapter-path', config.adapterPath, 'adapters']
  ]
  // One-way: an output folder inside these is normal (the default lies in the workspace).
  const contained: Array<[string, string | null | undefined]> = [
    ['the workspace', process.env.GITHUB_WORKSPACE],
    ['the working directory', cwd],
    ['the home folder', os.homedir()],
    ['the llama.cpp checkout (llama-cpp-dir)', g?.llamaCppDir],
    ['the imatrix file', g?.imatrix]
  ]
  for (const [name, out] of outputs) {
    const real = await realish(out)
    if (real === path.parse(real).root) {
      throw placementError(name, out, 'is the file system root')
    }
    for (const [what, dir] of contained) {
      if (dir && inside(await realish(path.resolve(cwd, dir)), real)) {
        throw placementError(name, out, `is or contains ${what} "${dir}"`)
      }
    }
    for (const [input, dir, what] of overlapping) {
      if (dir && overlaps(real, await realish(dir))) {
        throw new ActionError({
          problem: `Input ${name} "${out}" overlaps ${input} "${dir}"`,
          fix: `choose a separate folder so the action never writes into or deletes your ${what}`
        })
      }
    }
    const git = await findGitRoot(real)
    if (git) throw placementError(name, out, `is or contains a git work tree ("${git}")`)
  }
  for (const [name, dir] of outputs.slice(1)) {
    if (overlaps(await realish(dir), await realish(config.outputDir))) {
      // keep-intermediates into output-dir deleted the fused model at the end, reported within budget.
      throw new ActionError({
        problem: `Input ${name} "${dir}" overlaps output-dir "${config.outputDir}" (the MLX output is measured and uploaded as a whole)`,
        fix: `choose a separate folder, or leave gguf-dir empty for "${config.outputDir}-gguf"`
      })
    }
  }
}

function placementError(name: string, out: string, why: string): ActionError {
  return new ActionError({
    problem: `Input ${name} "${out}" ${why}`,
    fix: `the action replaces everything in its output folders, so point ${name} at a new folder of its own (such as "fused-model" in the workspace)`
  })
}

/** The first folder holding `.git` at or below `dir` (up to a few thousand folders), else null. */
async function findGitRoot(dir: string): Promise<string | null> {
  const queue = [dir]
  for (let seen = 0; queue.length > 0 && seen < 5000; seen++) {
    const current = queue.shift()!
    const entries = await fs.readdir(current, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      if (entry.name === '.git') return current
      if (entry.isDirectory()) queue.push(path.join(current, entry.name))
    }
  }
  return null
}

/**
 * Checks an output folder before any work: every existing ancestor is a folder this user can write
 * in, and a non-empty folder is replaced only with overwrite: true and only when the manifest
 * beside output-dir names it (it was made by this action).
 */
export async function checkOutputDir(
  dir: string,
  input: string,
  overwrite: boolean,
  manifestPath: string
): Promise<void> {
  await checkWritableParent(dir, input)
  const link = await fs.readlink(dir).catch(() => null)
  if (link !== null) {
    // Through a link, overwrite emptied the folder it points to, and the final move of the
    // staging folder failed with ENOTDIR after the whole fuse (dangling or not).
    throw new ActionError({
      problem: `Input ${input} "${dir}" is a symbolic link (to "${link}")`,
      fix: `the action replaces its output folders, and through a link it would write into or empty another folder, so point ${input} at a real folder path (or remove the link)`
    })
  }
  const stat = await fs.stat(dir).catch(() => null)
  if (!stat) return
  if (!stat.isDirectory()) {
    throw new ActionError({
      problem: `Input ${input} "${dir}" is a file`,
      fix: `choose a folder path, or delete the file`
    })
  }
  const entries = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new ActionError({
      problem: `Input ${input} "${dir}" cannot be read (${error.code})`,
      fix: `choose another folder, or fix its permissions`
    })
  })
  if (entries.length === 0) return
  const made = await foldersNamedBy(manifestPath)
  const ours = made !== null && (await namesFolder(made, dir))
  if (!ours) {
    throw new ActionError({
      problem: `Input ${input} "${dir}" already holds ${entries.length} entries that this action did not make (no manifest "${manifestPath}" from mlx-fuse-action names it), so even overwrite: true leaves it alone`,
      fix: `choose an empty or new folder, or delete it once by hand`
    })
  }
  if (!overwrite) {
    throw new ActionError({
      problem: `Input ${input} "${dir}" already holds ${entries.length} entries from an earlier run of this action`,
      fix: `set overwrite: true to replace them, or choose an empty folder`
    })
  }
}

/** The locks this process holds, removed when it exits. */
const heldLocks = new Set<string>()

/**
 * Takes the lock beside an output folder (`<output-dir>.lock`, `<gguf-dir>.lock`), so two runs on
 * one folder never write into each other's folders or manifest (the second crashed with ENOTEMPTY
 * and rewrote the first's good manifest to failed). The lock file is made whole under a temporary name and then
 * hard-linked into place: link(2) fails with EEXIST when the name exists, so exactly one run wins.
 * A lock whose process is gone (a crashed or killed run) is taken over; a file there that this
 * action did not write is never removed. Released when this process exits.
 */
export async function lockOutputDir(outputDir: string, input = 'output-dir'): Promise<void> {
  const lock = `${outputDir}.lock`
  if (heldLocks.has(lock)) return
  const temp = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}`
  const mine: LockHolder = { generator: GENERATOR, pid: process.pid, host: os.hostname() }
  try {
    await fs.mkdir(path.dirname(lock), { recursive: true })
    await fs.writeFile(temp, JSON.stringify(mine), { flag: 'wx' })
    for (let attempt = 0; attempt < 3; attempt++) {
      const taken = await fs.link(temp, lock).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false
          throw error
        }
      )
      if (taken) {
        holdUntilExit(lock)
        return
      }
      const holder = readLock(lock)
      if (holder === 'gone') continue // released between our link and our read
      if (holder === null) {
        throw new ActionError({
          problem: `The file "${lock}" (where the lock beside ${input} goes) was not written by this action`,
          fix: `move it away, or choose another ${input}`
        })
      }
      if (holder.host !== os.hostname() || processAlive(holder.pid)) {
        const where = holder.host === os.hostname() ? 'on this machine' : `on ${holder.host}`
        throw new ActionError({
          problem: `Another run of this action (process ${holder.pid} ${where}) is writing ${input} "${outputDir}" (lock file "${lock}")`,
          fix: `let it finish, or give this run another ${input} (if no such run is going on, delete the lock file)`
        })
      }
      // Stale: its process is gone. Remove it only if it still names that process (another run
      // may have taken it over meanwhile; the window left is the read and the unlink), then retry.
      const still = readLock(lock)
      if (
        still !== null &&
        still !== 'gone' &&
        still.pid === holder.pid &&
        still.host === holder.host
      ) {
        await fs.unlink(lock).catch(() => undefined)
      }
    }
    throw new ActionError({
      problem: `Could not take the lock "${lock}" beside ${input} "${outputDir}": other runs keep taking it`,
      fix: `run one job per ${input} at a time`
    })
  } catch (error) {
    if (error instanceof ActionError) throw error
    throw new ActionError({
      problem: `Could not make the lock file "${lock}" beside ${input} "${outputDir}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      fix: `choose an ${input} in a folder this runner's user can write in`
    })
  } finally {
    await fs.unlink(temp).catch(() => undefined)
  }
}

interface LockHolder {
  generator: string
  pid: number
  host: string
}

/** The holder named by a lock file, `gone` when there is none, null when it is not ours. */
function readLock(lock: string): LockHolder | 'gone' | null {
  let text: string
  try {
    text = readFileSync(lock, 'utf8')
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>
    if (h?.generator !== GENERATOR || !Number.isInteger(h.pid) || typeof h.host !== 'string') {
      return null
    }
    return h as LockHolder
  } catch {
    return null
  }
}

/** True while a process with this id exists (EPERM: it exists, under another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the lock when this process exits (however run() ends), if it still names this process. */
function holdUntilExit(lock: string): void {
  if (heldLocks.size === 0) {
    process.on('exit', () => {
      for (const held of heldLocks) {
        const holder = readLock(held)
        if (holder !== null && holder !== 'gone' && holder.pid === process.pid) {
          try {
            unlinkSync(held)
          } catch {
            // Nothing to do at exit: the next run sees the process is gone and takes it over.
          }
        }
      }
    })
  }
  heldLocks.add(lock)
}

/** The manifest path must be free or a manifest of this action: never overwrite someone's file. */
export async function checkManifestPath(manifestPath: string): Promise<void> {
  const stat = await fs.lstat(manifestPath).catch(() => null)
  if (!stat) return
  if (!stat.isFile()) {
    throw new ActionError({
      problem: `The manifest "${manifestPath}" (written beside output-dir) is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}`,
      fix: `move it away, or choose another output-dir`
    })
  }
  if ((await foldersNamedBy(manifestPath)) === null) {
    throw new ActionError({
      problem: `The file "${manifestPath}" (where the manifest beside output-dir goes) was not written by this action`,
      fix: `move it away, or choose another output-dir`
    })
  }
}

/** The folders a manifest of this action names, or null when the file is missing or not ours. */
export async function foldersNamedBy(manifestPath: string): Promise<string[] | null> {
  const text = await fs.readFile(manifestPath, 'utf8').catch(() => null)
  if (text === null) return null
  let m: Record<string, unknown>
  try {
    m = JSON.parse(text) as Record<string, unknown>
  } catch {
    return null
  }
  if (!m || typeof m !== 'object' || m.generator !== GENERATOR) return null
  const strings = (values: unknown[]): string[] =>
    values.filter((v): v is string => typeof v === 'string' && v !== '')
  if (m.folders && typeof m.folders === 'object') {
    return strings(Object.values(m.folders as Record<string, unknown>))
  }
  // Manifests from before `folders` (schemaVersion 1): the MLX output's path, gguf.dir, the
  // folders of the GGUF files and the kept intermediates.
  const outputs = Array.isArray(m.outputs) ? (m.outputs as Array<Record<string, unknown>>) : []
  const gguf = (m.gguf ?? {}) as Record<string, unknown>
  return strings([
    ...outputs.filter(o => o?.kind === 'mlx').map(o => o.path),
    ...outputs
      .filter(o => o?.kind === 'gguf' && typeof o.path === 'string')
      .map(o => path.dirname(o.path as string)),
    gguf.dir,
    gguf.intermediates
  ])
}

async function namesFolder(named: string[], dir: string): Promise<boolean> {
  const real = await realish(dir)
  for (const n of named) if (path.isAbsolute(n) && (await realish(n)) === real) return true
  return false
}

/** The nearest existing ancestor of `dir` must be a folder this user can create folders in. */
async function checkWritableParent(dir: string, input: string): Promise<void> {
  let parent = path.dirname(dir)
  for (;;) {
    const stat = await fs.stat(parent).catch((error: NodeJS.ErrnoException) => error)
    if (!(stat instanceof Error)) {
      if (!stat.isDirectory()) {
        throw new ActionError({
          problem: `Input ${input} "${dir}" lies under "${parent}", which is a file`,
          fix: `choose a folder path that does not pass through a file`
        })
      }
      break
    }
    if (stat.code === 'ENOTDIR' || stat.code === 'ENOENT') {
      const up = path.dirname(parent)
      if (up === parent) return
      parent = up
      continue
    }
    throw new ActionError({
      problem: `Input ${input} "${dir}": "${parent}" cannot be read (${stat.code})`,
      fix: `choose a folder this runner's user can write in`
    })
  }
  await fs.access(parent, constants.W_OK | constants.X_OK).catch((error: NodeJS.ErrnoException) => {
    throw new ActionError({
      problem: `Input ${input} "${dir}" cannot be created: "${parent}" is not writable by this runner's user (${error.code})`,
      fix: `choose a folder it can write in, or fix the permissions of "${parent}"`
    })
  })
}

/** The real path of `p`'s nearest existing ancestor joined with the rest, so links cannot hide an overlap. */
export async function realish(p: string): Promise<string> {
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

/**
 * True when `x` is `y` or lies inside it, decided by path segments: `out/..adapters` lies inside
 * `out` (its relative path starts with the characters `..` but its first segment is `..adapters`).
 */
function inside(x: string, y: string): boolean {
  const rel = path.relative(y, x)
  return rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel))
}

function overlaps(a: string, b: string): boolean {
  return inside(a, b) || inside(b, a)
}

/** True when `p` exists (a file, a folder or a link that resolves). */
export async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false
  )
}

/** The size of the file at `p`, or null when there is none. */
export async function fileSize(p: string): Promise<number | null> {
  const stat = await fs.stat(p).catch(() => null)
  return stat?.isFile() ? stat.size : null
}
