/**
 * A scratch folder the action makes for a moment inside a folder it does not own (the workspace,
 * for a baseline the cache saves or restores by a fixed relative path), and removes again. It is
 * made only where nothing exists, so no file of the user's is ever written over or removed.
 */
import { promises as fs } from 'node:fs'
import { removeTree } from './folders.js'

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
