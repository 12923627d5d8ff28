/**
 * Scratch folders the action makes for a moment and removes again: one inside a folder it does
 * not own (the workspace, for a baseline the cache saves or restores by a fixed relative path),
 * made only where nothing exists, so no file of the user's is ever written over or removed; and a
 * temporary folder of its own (the upload's links and checksum files).
 */
import { constants, promises as fs } from 'node:fs'
import path from 'node:path'
import { removeTree } from './workspace.js'

/** A new temporary folder `<prefix>XXXXXX` in `parent` (made with its parents). */
export async function makeTempFolder(parent: string, prefix: string): Promise<string> {
  await fs.mkdir(parent, { recursive: true })
  return fs.mkdtemp(path.join(parent, prefix))
}

/** A new symbolic link `link` to `target`, its folder made first. */
export async function linkInScratch(target: string, link: string): Promise<void> {
  await fs.mkdir(path.dirname(link), { recursive: true })
  await fs.symlink(target, link)
}

/** A new copy of `source` at `dest` (never over an existing file), its folder made first. */
export async function copyIntoScratch(source: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true })
  await fs.copyFile(source, dest, constants.COPYFILE_EXCL)
}

/** Makes `dir` (its parent must exist); false when something already sits there. */
export async function makeScratchFolder(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** Writes a new file in a scratch folder (never over an existing one). */
export async function writeScratchFile(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { flag: 'wx' })
}

/** Removes a scratch folder this run made, with whatever was restored into it. */
export async function removeScratchFolder(dir: string): Promise<void> {
  await removeTree(dir)
}
