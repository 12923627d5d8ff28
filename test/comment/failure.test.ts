/**
 * A run that fails still writes its comment body, and on a pull request replaces its earlier
 * comment: a fuse that fails, inputs refused once the comment's own inputs are known. run() runs
 * in-process (fixtures/in-process.ts: the real @actions/core, the step's environment) with the real
 * `@actions/github` against the loopback REST fake (fixtures/github-api.ts); the assertions read
 * what the fake received. Replaced, as in every test: mlx_lm (the stand-in python).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../fixtures/action.js'
import { startGithubApi, type GithubApi } from '../fixtures/github-api.js'
import { runInProcess } from '../fixtures/in-process.js'
import { makeTinySetup } from '../fixtures/tiny.js'

const NAME = 'fused-model'
const MARKER = `<!-- mlx-fuse-action comment: ${NAME} -->`
const COMMENTS = '/repos/octo/models/issues/7/comments'
const TOKEN = 'ghs_faketoken0123456789'

let root: string
let base: string
let adapters: string
let python: string
let api: GithubApi
/** The pull_request event of pull request #7. */
let eventPath: string

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('comment-failure'))
  eventPath = path.join(root, 'event.json')
  await fs.writeFile(
    eventPath,
    JSON.stringify({
      repository: { default_branch: 'main' },
      pull_request: { number: 7, base: { ref: 'main' }, head: { sha: 'e'.repeat(40) } }
    })
  )
})

beforeEach(async () => {
  api = await startGithubApi()
})

afterEach(async () => {
  await api.close()
})

/** A run of pull request #7's workflow (no cache service: no baseline, one notice). */
async function pullRun(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  return runInProcess(
    {
      'base-model': base,
      'adapter-path': adapters,
      python,
      'output-dir': path.join(dir, NAME),
      'github-token': TOKEN,
      ...inputs
    },
    {
      cwd: dir,
      env: {
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'octo/models',
        GITHUB_API_URL: api.url,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_RUN_ID: '42',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: eventPath,
        ...env
      }
    }
  )
}

const commentCalls = (): Array<{ method: string; path: string }> =>
  api.requests
    .filter(r => r.path.includes('/issues/'))
    .map(r => ({ method: r.method, path: r.path }))

/** The messages of the run's error annotations, decoded. */
const errorsOf = (run: ActionRun): string[] =>
  run.annotations.filter(a => a.startsWith('::error')).map(a => a.slice(a.indexOf('::', 2) + 2))

/** The run's failure, as its manifest (beside output-dir, in the run's folder) records it. */
async function manifestError(run: ActionRun): Promise<string> {
  const file = `${path.join(run.work, NAME)}.manifest.json`
  return (JSON.parse(await fs.readFile(file, 'utf8')) as { error: string }).error
}

describe('a failed run replaces the comment', () => {
  it('a fuse that fails after a green run: the same comment now says what failed', async () => {
    const green = await pullRun({ 'size-budget': 'mlx=1GB' })
    expect(green.code).toBe(0)
    expect(commentCalls()).toEqual([
      { method: 'GET', path: COMMENTS },
      { method: 'POST', path: COMMENTS }
    ])
    expect(api.comments).toHaveLength(1)
    expect(api.comments[0].body).toContain('Every output is within its size budget')

    api.requests.length = 0
    const failed = await pullRun({ 'size-budget': 'mlx=1GB' }, { MLX_STANDIN_FAIL: 'fuse' })
    expect(failed.code).toBe(3)
    const error = await manifestError(failed)
    expect(error).toMatch(/^mlx_lm fuse failed with exit code 3/)
    // One PATCH of the same comment: never a second one, never the stale "within budget".
    expect(commentCalls()).toEqual([
      { method: 'GET', path: COMMENTS },
      { method: 'PATCH', path: `/repos/octo/models/issues/comments/${api.comments[0].id}` }
    ])
    const patch = api.requests.find(r => r.method === 'PATCH')!
    expect(patch.authorization).toBe(`token ${TOKEN}`)
    const body = failed.outputs['comment-body']
    expect(patch.body).toEqual({ body })
    expect(api.comments).toHaveLength(1)
    expect(api.comments[0].body).toBe(body)
    expect(body).not.toContain('within its size budget')
    expect(body.split('\n')).toEqual([
      MARKER,
      `### mlx-fuse-action: ${NAME}`,
      '',
      expect.stringMatching(/^\*\*❌ The run failed, so it reports no sizes:\*\* mlx&#95;lm fuse /),
      '',
      "[The job's log](https://github.com/octo/models/actions/runs/42) has the details.",
      ''
    ])
    // The file holds the same body, named after the artifact.
    expect(path.basename(failed.outputs['comment-file'])).toBe(`${NAME}.comment.md`)
    expect(await fs.readFile(failed.outputs['comment-file'], 'utf8')).toBe(body)
  })

  it('inputs refused once the comment inputs are known: the sentence, escaped, in a new comment', async () => {
    // Markdown, a mention and a tag in the refused value: text in the comment, never markup.
    const value = '**@octocat** <b>#1</b>'
    const refused = await pullRun({ 'quantize-bits': value })
    expect(refused.code).toBe(1)
    expect(errorsOf(refused)).toEqual([
      expect.stringMatching(/^Input quantize-bits is "\*\*@octocat\*\* <b>#1<\/b>"; use one of/)
    ])
    expect(commentCalls()).toEqual([
      { method: 'GET', path: COMMENTS },
      { method: 'POST', path: COMMENTS }
    ])
    const body = api.comments[0].body
    expect(body).toBe(refused.outputs['comment-body'])
    expect(body.startsWith(`${MARKER}\n`)).toBe(true)
    expect(body).toContain(
      'Input quantize-bits is "&#42;&#42;&#64;octocat&#42;&#42; &#60;b&#62;&#35;1&#60;/b&#62;"; use one of'
    )
    expect(body).not.toMatch(/@octocat|<b>|\*\*@/)
  })

  it('an input of the comment itself refused: no comment and no body, as the config is unknown', async () => {
    api.comments.push({ id: 9, issue: 7, body: `${MARKER}\nold`, user: 'github-actions[bot]' })
    const refused = await pullRun({ comment: 'sometimes' })
    expect(refused.code).toBe(1)
    expect(errorsOf(refused)).toEqual(['Input comment is "sometimes"; use auto or true or false.'])
    expect(api.requests).toEqual([])
    expect(refused.outputs['comment-body']).toBeUndefined()
    expect(api.comments[0].body).toBe(`${MARKER}\nold`)
  })

  it('comment: false on a failed run writes the body and posts nothing', async () => {
    const failed = await pullRun({ comment: 'false' }, { MLX_STANDIN_FAIL: 'fuse' })
    expect(failed.code).toBe(3)
    expect(api.requests).toEqual([])
    const body = await fs.readFile(failed.outputs['comment-file'], 'utf8')
    expect(body).toBe(failed.outputs['comment-body'])
    expect(body).toContain('The run failed')
  })

  it('a token that may not comment (403): the failure stays the one error, the comment one warning', async () => {
    api.commentStatus = 403
    const failed = await pullRun({}, { MLX_STANDIN_FAIL: 'fuse' })
    expect(failed.code).toBe(3)
    expect(errorsOf(failed)).toEqual([await manifestError(failed)])
    const warnings = failed.annotations.filter(a =>
      a.startsWith('::warning title=Pull-request comment::')
    )
    expect(warnings).toEqual([
      expect.stringMatching(
        /::The pull-request comment was not posted: the API answered 403: .*"pull-requests: write"/
      )
    ])
  })
})
