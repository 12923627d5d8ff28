/**
 * Issue 16: every byte the run writes, moves or removes goes through `src/core/`. This test parses
 * each source file outside `src/core/` with the TypeScript compiler, resolves its imports of
 * `node:fs`, `node:fs/promises` and `@actions/io` (named, namespace, default, `promises as x`) and
 * fails naming file:line and member for every writing member it uses.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const WRITERS = new Set(
  [
    'writeFile',
    'appendFile',
    'rm',
    'rmdir',
    'unlink',
    'rename',
    'mkdir',
    'cp',
    'copyFile',
    'symlink',
    'chmod',
    'truncate',
    'mkdtemp',
    'rmRF',
    'mv',
    'mkdirP',
    'createWriteStream'
  ].flatMap(m => [m, `${m}Sync`])
)

const MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises', '@actions/io'])

/** Every use of a writing fs/io member in `text`, as `file:line member`. */
function writesIn(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const at = (node: ts.Node, member: string): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1
    found.push(`${file}:${line} ${member}`)
  }
  // Local names bound to a module object (namespace, default, `promises as x`), and local names
  // bound to one member (`import { rm } ...`, `import { rm as remove } ...`).
  const objects = new Set<string>()
  const members = new Map<string, string>()
  for (const stmt of source.statements) {
    if (!ts.isImportDeclaration(stmt) || !ts.isStringLiteral(stmt.moduleSpecifier)) continue
    if (!MODULES.has(stmt.moduleSpecifier.text)) continue
    const clause = stmt.importClause
    if (!clause) continue
    if (clause.name) objects.add(clause.name.text)
    const bindings = clause.namedBindings
    if (bindings && ts.isNamespaceImport(bindings)) objects.add(bindings.name.text)
    if (bindings && ts.isNamedImports(bindings)) {
      for (const el of bindings.elements) {
        const imported = (el.propertyName ?? el.name).text
        if (imported === 'promises') objects.add(el.name.text)
        else members.set(el.name.text, imported)
      }
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && WRITERS.has(node.name.text)) {
      // fs.rm, fsp.rm, fs.promises.rm, io.rmRF
      let target: ts.Expression = node.expression
      if (ts.isPropertyAccessExpression(target) && target.name.text === 'promises') {
        target = target.expression
      }
      if (ts.isIdentifier(target) && objects.has(target.text)) at(node, node.name.text)
    } else if (ts.isIdentifier(node) && members.has(node.text)) {
      const member = members.get(node.text) as string
      const parent = node.parent
      const isImportSite = ts.isImportSpecifier(parent)
      if (!isImportSite && WRITERS.has(member)) at(node, member)
    } else if (
      ts.isBindingElement(node) &&
      ts.isObjectBindingPattern(node.parent) &&
      ts.isVariableDeclaration(node.parent.parent) &&
      node.parent.parent.initializer &&
      ts.isIdentifier(node.parent.parent.initializer) &&
      objects.has(node.parent.parent.initializer.text)
    ) {
      // const { rm } = fs
      const member = (node.propertyName ?? node.name).getText(source)
      if (WRITERS.has(member)) at(node, member)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await sourceFiles(p)))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out.sort()
}

describe('no writes outside src/core', () => {
  it('finds named, renamed, namespace, default, promises and destructured writes', () => {
    const snippet = [
      "import { promises as fsp, readFileSync, writeFileSync } from 'node:fs'",
      "import * as io from '@actions/io'",
      "import fs from 'node:fs/promises'",
      "import { rm as remove, stat } from 'node:fs/promises'",
      "import nodeFs from 'node:fs'",
      'await fsp.writeFile("a", "b")',
      'readFileSync("a")',
      'writeFileSync("a", "b")',
      'await io.rmRF("x")',
      'await fs.rename("a", "b")',
      'await remove("x")',
      'await stat("x")',
      'await nodeFs.promises.mkdir("d")',
      'const { unlink } = nodeFs',
      'const other = { rm: () => 0 }; other.rm()'
    ].join('\n')
    expect(writesIn('snippet.ts', snippet)).toEqual([
      'snippet.ts:6 writeFile',
      'snippet.ts:8 writeFileSync',
      'snippet.ts:9 rmRF',
      'snippet.ts:10 rename',
      'snippet.ts:11 rm',
      'snippet.ts:13 mkdir',
      'snippet.ts:14 unlink'
    ])
  })

  it('finds no writing fs or io call in src outside src/core', async () => {
    const root = path.resolve('src')
    const found: string[] = []
    for (const file of await sourceFiles(root)) {
      const rel = path.relative(root, file).split(path.sep).join('/')
      if (rel.startsWith('core/')) continue
      found.push(...writesIn(`src/${rel}`, await fs.readFile(file, 'utf8')))
    }
    // each one names file:line and member: move it into src/core (the run's Workspace)
    expect(found).toEqual([])
  })
})
