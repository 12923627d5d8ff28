// The bundle's stamp: which sources dist/index.js was built from. `npm run bundle` writes it to
// dist/sources.sha256 after ncc; the end-to-end suites that spawn dist/index.js compare it with the
// working tree's sources (sourcesHash) and refuse to run a bundle built from other sources.
//
// The hash covers every file under src/ (path and bytes, in sorted order) and package-lock.json
// (the dependencies ncc inlines). Plain JavaScript so `npm run bundle` needs no build.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.join(import.meta.dirname, '..')
export const STAMP = path.join('dist', 'sources.sha256')

/** The files the stamp covers, relative to `root`, with forward slashes, sorted. */
export function stampedFiles(root = ROOT) {
  const src = readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter(e => e.isFile())
    .map(e => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
  return [...src, 'package-lock.json'].sort()
}

/** sha256 over each stamped file's path and bytes. */
export function sourcesHash(root = ROOT) {
  const hash = createHash('sha256')
  for (const file of stampedFiles(root)) {
    const bytes = readFileSync(path.join(root, file))
    hash.update(`${file}\0${bytes.length}\0`).update(bytes)
  }
  return hash.digest('hex')
}

/** The hash dist/sources.sha256 records, or null when the bundle has no stamp. */
export function bundledHash(root = ROOT) {
  try {
    return readFileSync(path.join(root, STAMP), 'utf8').trim()
  } catch {
    return null
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  writeFileSync(path.join(ROOT, STAMP), `${sourcesHash()}\n`)
}
