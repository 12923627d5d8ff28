/**
 * The comment step of run(), after the upload (its links) and before the verdict fails the step:
 * always writes the body to a file of its own and to the outputs `comment-file` and
 * `comment-body`; with input `comment` (`auto`: on pull_request events) it posts the body on the
 * pull request or updates its earlier comment. A run that fails does the same with a body saying
 * what failed (commentOnFailure). Never a failure: a fault is one warning.
 */
import * as core from '@actions/core'
import os from 'node:os'
import path from 'node:path'
import { promises as fs } from 'node:fs'
import type { PublishedArtifact } from '../artifacts/outcome.js'
import type { CommentConfig } from '../core/config.js'
import { Outputs } from '../core/constants.js'
import { logSafe } from '../core/log.js'
import { redact } from '../core/redact.js'
import { makeTempFolder, writeScratchFile } from '../core/scratch.js'
import type { RunReport } from '../report/run-report.js'
import { commentBody, commentMarker, failureBody } from './body.js'
import { postComment } from './post.js'

export { earlyCommentConfig } from './inputs.js'

const TITLE = 'Pull-request comment'
/**
 * The file's name: `<artifact-name>.comment.md`, also the name of the artifact fuse.yml uploads it
 * as (a raw upload takes the file's name), which comment.yml downloads by the pattern `*.comment.md`.
 */
export function commentFileName(artifactName: string): string {
  return `${artifactName}.comment.md`
}

export async function commentOnPullRequest(
  config: CommentConfig,
  report: RunReport,
  artifacts: readonly PublishedArtifact[]
): Promise<void> {
  await publishBody(config, () =>
    commentBody({ report, artifactName: config.artifactName, artifacts, runUrl: runUrl() })
  )
}

/**
 * The comment of a run that failed (src/main.ts fail()): the failure manifest's `error`, written
 * and posted as a finished run's body is, under the same marker, so the comment of an earlier
 * run ("within budget") never stays up beside a failing commit.
 */
export async function commentOnFailure(config: CommentConfig, error: string): Promise<void> {
  await publishBody(config, () => failureBody(config.artifactName, error, runUrl()))
}

/** Writes the body to its file and the outputs; posts or updates it on the pull request. */
async function publishBody(config: CommentConfig, makeBody: () => string): Promise<void> {
  try {
    const body = makeBody()
    const file = await writeBody(body, commentFileName(config.artifactName))
    core.setOutput(Outputs.CommentFile, file)
    core.setOutput(Outputs.CommentBody, body)
    if (config.mode === 'false') return
    const pr = await pullRequest()
    if (!pr) {
      if (config.mode === 'true') {
        core.notice(
          `Input comment is true, but this run is not for a pull request (event ${process.env.GITHUB_EVENT_NAME || 'none'}), so nothing was posted; the body is in the output comment-file.`,
          { title: TITLE }
        )
      }
      return
    }
    const posted = await postComment(
      { token: config.token, ...pr },
      body,
      commentMarker(config.artifactName)
    )
    if (posted.status === 'failed') {
      core.warning(redact(`The pull-request comment was not posted: ${posted.why}.`), {
        title: TITLE
      })
    } else {
      core.info(logSafe(`Pull-request comment ${posted.status}: ${posted.url}`))
    }
  } catch (error) {
    core.warning(redact(`The pull-request comment was not written: ${(error as Error).message}.`), {
      title: TITLE
    })
  }
}

/** Writes the body to a new folder in the runner's temp folder; returns the file's path. */
async function writeBody(body: string, name: string): Promise<string> {
  const dir = await makeTempFolder(process.env.RUNNER_TEMP || os.tmpdir(), 'mlx-fuse-comment-')
  const file = path.join(dir, name)
  await writeScratchFile(file, body)
  return file
}

function runUrl(): string | null {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = process.env
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : null
}

/** The pull request this run is for (pull_request or pull_request_target), or null. */
async function pullRequest(): Promise<{ owner: string; repo: string; number: number } | null> {
  const env = process.env
  if (env.GITHUB_ACTIONS !== 'true') return null
  if (env.GITHUB_EVENT_NAME !== 'pull_request' && env.GITHUB_EVENT_NAME !== 'pull_request_target')
    return null
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo || !env.GITHUB_EVENT_PATH) return null
  const text = await fs.readFile(env.GITHUB_EVENT_PATH, 'utf8').catch(() => '')
  let number: unknown
  try {
    number = (JSON.parse(text) as { pull_request?: { number?: unknown } } | null)?.pull_request
      ?.number
  } catch {
    return null
  }
  return typeof number === 'number' && Number.isSafeInteger(number) && number > 0
    ? { owner, repo, number }
    : null
}
