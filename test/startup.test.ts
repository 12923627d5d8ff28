/**
 * Start-up: the entry (src/index.ts) and every module it imports statically must not import a
 * service client (the artifact service, which brings Octokit, and the Hub). Those load through
 * `import()` when a run uses them, so ncc emits them as separate chunks and a run that fails on
 * its inputs starts in little more than the time Node itself needs. `@huggingface/gguf` stays a
 * static import: the inputs resolve GGUF type names through its file-type enum (gguf/quant-types.ts),
 * and it costs tens of milliseconds where the artifact client cost hundreds.
 * `npm run bench` reports that start-up; this test only checks the import graph.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')

const LAZY = ['@actions/artifact', '@huggingface/hub', '@actions/cache', '@actions/github']

/** The specifiers a file imports or re-exports at run time (`import type` and type-only names aside). */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022)
  const found: string[] = []
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every(e => e.isTypeOnly)))
      if (!typeOnly) found.push((node.moduleSpecifier as ts.StringLiteral).text)
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text)
    }
  }
  return found
}

/** Each package the entry loads statically, with one chain of files that leads to it. */
function entryPackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>()
  const seen = new Set<string>()
  const visit = (file: string, chain: string[]): void => {
    if (seen.has(file)) return
    seen.add(file)
    const here = [...chain, path.relative(SRC, file)]
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.'))
        visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')), here)
      else if (!spec.startsWith('node:') && !packages.has(spec)) packages.set(spec, here)
    }
  }
  visit(entry, [])
  return packages
}

describe('start-up', () => {
  it('the entry reaches no heavy client through a static import', () => {
    const packages = entryPackages(path.join(SRC, 'index.ts'))
    // the walk itself works: the entry does load @actions/core statically
    expect(packages.has('@actions/core')).toBe(true)
    const eager = LAZY.filter(p => packages.has(p)).map(
      p => `${p} via ${packages.get(p)!.join(' -> ')}`
    )
    expect(eager).toEqual([])
  })
})
