/** Writing a file as a new head followed by the tail of another file, streamed, then renamed in. */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { discard, removeTree } from './workspace.js'

/**
 * Writes `dest` as `head` followed by the bytes of `source` from `tailStart` to its end (streamed,
 * never held in memory), through a temporary file beside `dest` that is renamed over it: `dest` may
 * be a symbolic link to `source` (the link is replaced, its target left as it was). The temporary
 * file is removed when anything fails.
 */
export async function writeHeadAndTail(
  dest: string,
  head: Buffer,
  source: string,
  tailStart: number
): Promise<void> {
  const temp = `${dest}.partial`
  try {
    const out = createWriteStream(temp, { flags: 'wx' })
    out.write(head)
    await pipeline(createReadStream(source, { start: tailStart }), out)
    await removeTree(dest)
    await fs.rename(temp, dest)
  } catch (error) {
    await discard(temp) // a failed removal warns: the write's own error is the one thrown
    throw error
  }
}

/** Writes `text` to `dest`, replacing a file or a symbolic link there (never its target). */
export async function replaceWithText(dest: string, text: string): Promise<void> {
  await removeTree(dest)
  await fs.writeFile(dest, text)
}

/**
 * Makes `dst` (new, with its parents) a view of the folder `src` that leaves `src` untouched: a
 * symbolic link to each of its entries, which callers then replace with files of their own.
 */
export async function linkFolder(src: string, dst: string): Promise<void> {
  await fs.mkdir(dst, { recursive: true })
  for (const name of await fs.readdir(src)) {
    await fs.symlink(path.resolve(src, name), path.join(dst, name))
  }
}

/** A file of a shadow folder: new contents, or a copy of another file. */
export type ShadowEntry = { text: string } | { copy: string }

/**
 * {@link linkFolder}, with the names in `replace` given their own file (written, or copied from
 * elsewhere): readers of `dst` see `src` with those files changed, and `src` stays untouched.
 */
export async function shadowFolder(
  src: string,
  dst: string,
  replace: ReadonlyMap<string, ShadowEntry>
): Promise<void> {
  await linkFolder(src, dst)
  for (const [name, entry] of replace) {
    const file = path.join(dst, name)
    if ('text' in entry) await replaceWithText(file, entry.text)
    else {
      await removeTree(file)
      await fs.copyFile(entry.copy, file)
    }
  }
}
