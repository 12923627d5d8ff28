#!/usr/bin/env node
/**
 * Posts the pull-request comments an mlx-fuse-action run wrote (fuse.yml uploads each body as the
 * artifact `<artifact-name>.comment.md`; comment.yml downloads them into DIR), or updates each
 * artifact name's earlier comment in place. Plain Node (no dependencies, no build) so the comment
 * composite action runs it as is, and it never runs the pull request's code.
 *
 *   post.mjs DIR
 *
 * Which pull request: from the event GitHub wrote (GITHUB_EVENT_PATH), never from the artifact,
 * which a fork's workflow run controls: a `pull_request` event names it; a `workflow_run` event
 * (a fork's pull request: the fork's run has no write token, so the base repository's own
 * workflow posts) gives the run's head commit, branch and repository, and the pull request is the
 * open one whose head is that branch at that very commit (GitHub REST "List pull requests", then
 * "List pull requests associated with a commit"). None: a notice, nothing posted.
 *
 * A body is outside text: it must start with the action's marker line, `@` mentions are broken
 * with a word joiner (no one is notified by a fork), and it is cut to MAX_BODY_CHARS. An earlier
 * comment is a bot's comment that starts with the same marker. Every failure is one line starting
 * with `::error::` and exit code 1; a 403 names `pull-requests: write`.
 */
/* global fetch, AbortSignal -- Node 24's own */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/** GitHub refuses a comment over 65,536 characters. */
export const MAX_BODY_CHARS = 60_000
const MARKER = /^<!-- mlx-fuse-action comment: ([A-Za-z0-9%._~!'()*-]+) -->$/
const WORD_JOINER = '\u2060'
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu

class CommentError extends Error {}

/** Text safe for one log line (src/core/log.ts `logSafe`'s rule): no control character, no command. */
export function logSafe(text) {
  return String(text)
    .replace(CONTROL, c => `\\u${c.codePointAt(0).toString(16).padStart(4, '0')}`)
    .replace(/::/g, `:${WORD_JOINER}:`)
    .replace(/##\[/g, `#${WORD_JOINER}#[`)
}

/** `@name` and `@org/team` notify; `@` then a word joiner does not. */
export function stripMentions(text) {
  return text.replace(/@(?=[A-Za-z0-9])/g, `@${WORD_JOINER}`)
}

/** The body to post, or null when it is not one the action wrote (no marker on its first line). */
export function cleanBody(text) {
  const first = text.split('\n', 1)[0]
  if (!MARKER.test(first)) return null
  let body = stripMentions(text)
  if (body.length > MAX_BODY_CHARS) {
    body = `${body.slice(0, MAX_BODY_CHARS)}\n\n…(cut at ${MAX_BODY_CHARS} characters)\n`
  }
  return { marker: first, body }
}

/** Every `*.comment.md` file in DIR and its folders one level down (one per raw artifact). */
export function bodyFiles(dir) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isFile() && entry.name.endsWith('.comment.md')) out.push(p)
    else if (entry.isDirectory()) {
      for (const inner of readdirSync(p, { withFileTypes: true })) {
        if (inner.isFile() && inner.name.endsWith('.comment.md')) out.push(path.join(p, inner.name))
      }
    }
  }
  return out.sort()
}

function api(token) {
  const base = (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/$/, '')
  return async (method, route, body) => {
    const url = route.startsWith('http') ? route : `${base}${route}`
    const res = await fetch(url, {
      method,
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        ...(body ? { 'Content-Type': 'application/json' } : {})
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000)
    })
    if (!res.ok) {
      const why =
        res.status === 403 || res.status === 401
          ? `; the token may not do this: the calling job must grant "pull-requests: write" (and "actions: read" to download the artifacts)`
          : ''
      throw new CommentError(`${method} ${route} answered ${res.status}${why}`)
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')
    return { data: await res.json(), next: next ? next[1] : null }
  }
}

/** The pull request number this run comments on, from the event GitHub wrote; null: none. */
export async function findPullRequest(call, repo, event, eventName) {
  if (eventName === 'pull_request' || eventName === 'pull_request_target') {
    const n = event.pull_request?.number
    return Number.isSafeInteger(n) && n > 0 ? n : null
  }
  if (eventName !== 'workflow_run') {
    throw new CommentError(
      `comment.yml runs on pull_request (as a job after fuse.yml) or workflow_run events, not ${eventName}`
    )
  }
  const run = event.workflow_run ?? {}
  const sha = String(run.head_sha ?? '')
  const owner = String(run.head_repository?.owner?.login ?? '')
  const branch = String(run.head_branch ?? '')
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
    throw new CommentError('the workflow_run event names no head commit')
  }
  const matches = pulls => pulls.filter(p => p.state === 'open' && p.head?.sha === sha)
  if (owner && branch) {
    const head = encodeURIComponent(`${owner}:${branch}`)
    const { data } = await call('GET', `/repos/${repo}/pulls?state=open&head=${head}&per_page=100`)
    const found = matches(data)
    if (found.length === 1) return found[0].number
  }
  const { data } = await call('GET', `/repos/${repo}/commits/${sha}/pulls?per_page=100`)
  const found = matches(data)
  return found.length === 1 ? found[0].number : null
}

/** Posts `body`, or updates the bot's earlier comment that starts with `marker`. */
export async function postOrUpdate(call, repo, number, marker, body) {
  let route = `/repos/${repo}/issues/${number}/comments?per_page=100`
  while (route) {
    const page = await call('GET', route)
    const earlier = page.data.find(
      c => c.user?.type === 'Bot' && String(c.body ?? '').startsWith(marker)
    )
    if (earlier) {
      await call('PATCH', `/repos/${repo}/issues/comments/${earlier.id}`, { body })
      return 'updated'
    }
    route = page.next
  }
  await call('POST', `/repos/${repo}/issues/${number}/comments`, { body })
  return 'created'
}

export async function main(dir, env = process.env) {
  const repo = env.GITHUB_REPOSITORY ?? ''
  if (!/^[^/\s]+\/[^/\s]+$/.test(repo))
    throw new CommentError('GITHUB_REPOSITORY is not owner/name')
  if (!env.GH_TOKEN) throw new CommentError('no token (GH_TOKEN) to comment with')
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH ?? '', 'utf8'))
  const call = api(env.GH_TOKEN)
  const files = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? bodyFiles(dir) : []
  if (files.length === 0) {
    console.log(
      `::notice::No comment body was found in the run's artifacts (*.comment.md); nothing to post.`
    )
    return
  }
  const number = await findPullRequest(call, repo, event, env.GITHUB_EVENT_NAME ?? '')
  if (number === null) {
    console.log("::notice::No open pull request has this run's head commit; nothing was posted.")
    return
  }
  for (const file of files) {
    const clean = cleanBody(readFileSync(file, 'utf8'))
    if (!clean) {
      console.log(
        `::warning::${logSafe(path.basename(file))} does not start with the action's marker line; it was not posted.`
      )
      continue
    }
    const done = await postOrUpdate(call, repo, number, clean.marker, clean.body)
    console.log(logSafe(`${path.basename(file)}: comment ${done} on pull request #${number}.`))
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main(process.argv[2] ?? '').catch(error => {
    const message =
      error instanceof CommentError ? error.message : `unexpected error: ${error?.stack ?? error}`
    console.log(`::error::${logSafe(message)}`)
    process.exitCode = 1
  })
}
