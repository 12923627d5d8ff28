/**
 * Stages hand off, never reach back (issue 16, move 3): the MLX stage owns every fuse and hands
 * the GGUF stage the full-precision model it made, so nothing under src/gguf/ imports the fuse
 * (src/mlx/fuse.ts) or the mlx-lm environment (src/mlx/python.ts), not even a type.
 */
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')

/** Every .ts file under `dir`, as absolute paths. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => path.join(e.parentPath, e.name))
}

/**
 * The files `file` imports from src/: static, type-only, re-exports and import() alike, each
 * resolved from its specifier (`./x.js` is the source `./x.ts`).
 */
function importedSources(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles
    .map(f => f.fileName)
    .filter(spec => spec.startsWith('.'))
    .map(spec => path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
}

describe('stages hand off, never reach back', () => {
  const gguf = sourceFiles(path.join(SRC, 'gguf'))
  const edges = gguf.flatMap(file =>
    importedSources(file).map(to => `${path.relative(SRC, file)} -> ${path.relative(SRC, to)}`)
  )

  it('reads the import graph of src/gguf/ (the walk itself works)', () => {
    expect(gguf).toContain(path.join(SRC, 'gguf', 'pipeline.ts'))
    // a type-only import and a value import are both seen
    expect(edges).toContain('gguf/setup.ts -> gguf/toolchain.ts')
    expect(edges).toContain('gguf/setup.ts -> gguf/pipeline.ts')
  })

  it('nothing in src/gguf/ imports the fuse or the mlx-lm environment', () => {
    const forbidden = ['mlx/fuse.ts', 'mlx/python.ts']
    expect(edges.filter(e => forbidden.some(f => e.endsWith(`-> ${f}`)))).toEqual([])
  })
})
