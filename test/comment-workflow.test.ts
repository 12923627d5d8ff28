/**
 * comment/post.mjs, the step of the reusable comment.yml, run as the runner runs it (a Node process
 * with the job's environment) against a loopback fake of the REST API: the pull request comes from
 * the event GitHub wrote (pull_request, or a fork's workflow_run found by its head branch and
 * commit), never from the artifact; one comment per artifact name, updated in place; mentions
 * broken; a body without the action's marker never posted.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { startGithubApi, type GithubApi } from './fixtures/github-api.js'

const SCRIPT = path.resolve(import.meta.dirname, '..', 'comment', 'post.mjs')
const MARKER = '<!-- mlx-fuse-action comment: fused-model -->'
const HEAD = 'b'.repeat(40)

let api: GithubApi
let dir: string

beforeEach(async () => {
  api = await startGithubApi()
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'comment-step-'))
})
afterEach(async () => {
  await api.close()
  await fs.rm(dir, { recursive: true, force: true })
})

/** A downloaded raw artifact: download-artifact 8 puts `X` at `DIR/X/X` when it fetches several. */
async function artifact(name: string, body: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'bodies', name), { recursive: true })
  await fs.writeFile(path.join(dir, 'bodies', name, name), body)
}

async function step(eventName: string, event: object): Promise<{ code: number; stdout: string }> {
  const eventPath = path.join(dir, `event-${Math.random()}.json`)
  await fs.writeFile(eventPath, JSON.stringify(event))
  const env = {
    PATH: process.env.PATH,
    GH_TOKEN: 'ghs_commenttoken',
    GITHUB_API_URL: api.url,
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath
  }
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [SCRIPT, path.join(dir, 'bodies')],
      { env }
    )
    return { code: 0, stdout }
  } catch (error) {
    const e = error as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

const calls = (): string[] => api.requests.map(r => `${r.method} ${r.path}`)

/** A fork's pull request as the base repository's workflow_run event describes its run. */
const forkRun = (sha = HEAD): object => ({
  workflow_run: {
    id: 77,
    event: 'pull_request',
    head_sha: sha,
    head_branch: 'feature',
    head_repository: { full_name: 'forker/models', owner: { login: 'forker' } },
    pull_requests: []
  }
})

describe('comment.yml’s step', () => {
  it('same repository: posts on the pull request the event names, then updates that comment', async () => {
    await artifact('fused-model.comment.md', `${MARKER}\n| a | b |\n`)
    const first = await step('pull_request', { pull_request: { number: 7 } })
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('fused-model.comment.md: comment created on pull request #7.')
    expect(calls()).toEqual([
      'GET /repos/octo/models/issues/7/comments',
      'POST /repos/octo/models/issues/7/comments'
    ])
    expect(api.requests[1].authorization).toBe('Bearer ghs_commenttoken')
    expect(api.requests[1].body).toEqual({ body: `${MARKER}\n| a | b |\n` })

    api.requests.length = 0
    await artifact('fused-model.comment.md', `${MARKER}\nnew sizes\n`)
    const second = await step('pull_request', { pull_request: { number: 7 } })
    expect(second.stdout).toContain('comment updated on pull request #7.')
    expect(calls()).toEqual([
      'GET /repos/octo/models/issues/7/comments',
      'PATCH /repos/octo/models/issues/comments/1000'
    ])
    expect(api.comments.map(c => c.body)).toEqual([`${MARKER}\nnew sizes\n`])
  })

  it('a fork: finds the pull request by the run’s head branch and commit, ignoring any number in the artifact', async () => {
    api.pulls.push(
      {
        number: 99,
        headSha: 'c'.repeat(40),
        headOwner: 'octo',
        headBranch: 'other',
        state: 'open'
      },
      { number: 12, headSha: HEAD, headOwner: 'forker', headBranch: 'feature', state: 'open' }
    )
    // The fork controls the artifact: it names pull request 99 and mentions people.
    await artifact(
      'fused-model.comment.md',
      `${MARKER}\nFor pull request #99, cc @octocat and @octo/maintainers\n`
    )
    await fs.writeFile(path.join(dir, 'bodies', 'pr-number'), '99')
    const r = await step('workflow_run', forkRun())
    expect(r.code).toBe(0)
    expect(calls()).toEqual(
      [
        '/repos/octo/models/pulls',
        '/repos/octo/models/issues/12/comments',
        '/repos/octo/models/issues/12/comments'
      ].map((p, i) => `${i === 2 ? 'POST' : 'GET'} ${p}`)
    )
    expect(new URLSearchParams(api.requests[0].query).get('head')).toBe('forker:feature')
    const posted = String(api.comments[0].body)
    expect(api.comments[0].issue).toBe(12)
    expect(posted).toBe(
      `${MARKER}\nFor pull request #99, cc @\u2060octocat and @\u2060octo/maintainers\n`
    )
    expect(posted).not.toMatch(/@[A-Za-z0-9]/)
  })

  it('a fork whose branch has moved on: no pull request has that commit, nothing is posted', async () => {
    api.pulls.push({
      number: 12,
      headSha: 'd'.repeat(40),
      headOwner: 'forker',
      headBranch: 'feature',
      state: 'open'
    })
    await artifact('fused-model.comment.md', `${MARKER}\nx\n`)
    const r = await step('workflow_run', forkRun())
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("::notice::No open pull request has this run's head commit")
    expect(calls()).toEqual([
      'GET /repos/octo/models/pulls',
      `GET /repos/octo/models/commits/${HEAD}/pulls`
    ])
    expect(api.comments).toEqual([])
  })

  it('never posts a body without the marker line, and cuts a long one', async () => {
    api.pulls.push({
      number: 12,
      headSha: HEAD,
      headOwner: 'forker',
      headBranch: 'feature',
      state: 'open'
    })
    await artifact('a.comment.md', 'Free advertising\n')
    await artifact('b.comment.md', `${MARKER.replace('fused-model', 'b')}\n${'x'.repeat(70_000)}`)
    const r = await step('workflow_run', forkRun())
    expect(r.stdout).toContain(
      "::warning::a.comment.md does not start with the action's marker line"
    )
    expect(api.comments).toHaveLength(1)
    expect(api.comments[0].body.length).toBeLessThan(60_100)
    expect(api.comments[0].body).toMatch(/…\(cut at 60000 characters\)\n$/)
  })

  it('a token without pull-requests: write: one error naming it, exit code 1', async () => {
    api.commentStatus = 403
    await artifact('fused-model.comment.md', `${MARKER}\nx\n`)
    const r = await step('pull_request', { pull_request: { number: 7 } })
    expect(r.code).toBe(1)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter(l => l.startsWith('::error::'))
    ).toEqual([
      expect.stringContaining(
        'answered 403; the token may not do this: the calling job must grant "pull-requests: write"'
      )
    ])
  })
})
