/**
 * Posts the body on the pull request, or updates this artifact name's earlier comment in place
 * (a bot's comment among the issue's that starts with its hidden marker), through `@actions/github` 9.1.1, loaded
 * only when a comment is posted. GitHub REST: `GET /repos/{o}/{r}/issues/{n}/comments` (paged),
 * `POST` there, `PATCH /repos/{o}/{r}/issues/comments/{id}`; a pull request's conversation is its
 * issue's. A comment never fails the run: what goes wrong is one warning, and a 403 names the
 * permission (`pull-requests: write`) the job's token lacks, as it does in a pull request from a
 * fork or in a workflow that grants `contents: read` only.
 */

export interface CommentTarget {
  token: string
  owner: string
  repo: string
  number: number
}

/** What happened: `created`/`updated` with the comment's URL, else the one sentence to warn with. */
export type Posted =
  { status: 'created' | 'updated'; url: string } | { status: 'failed'; why: string }

export async function postComment(
  target: CommentTarget,
  body: string,
  marker: string
): Promise<Posted> {
  if (target.token === '') {
    return { status: 'failed', why: 'input github-token is empty, so no comment was posted' }
  }
  const { getOctokit } = await import('@actions/github')
  const octokit = getOctokit(target.token, {
    baseUrl: process.env.GITHUB_API_URL || 'https://api.github.com',
    request: { signal: AbortSignal.timeout(30_000) }
  })
  const where = { owner: target.owner, repo: target.repo }
  try {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      ...where,
      issue_number: target.number,
      per_page: 100
    })
    // Its own: a bot's comment that starts with the marker (a person quoting it is left alone).
    const earlier = comments.find(c => c.user?.type === 'Bot' && (c.body ?? '').startsWith(marker))
    if (earlier) {
      const { data } = await octokit.rest.issues.updateComment({
        ...where,
        comment_id: earlier.id,
        body
      })
      return { status: 'updated', url: data.html_url }
    }
    const { data } = await octokit.rest.issues.createComment({
      ...where,
      issue_number: target.number,
      body
    })
    return { status: 'created', url: data.html_url }
  } catch (error) {
    const status = (error as { status?: number }).status
    if (status === 403 || status === 401) {
      return {
        status: 'failed',
        why: `the API answered ${status}: the token in github-token may not comment on pull request #${target.number}; grant the job "pull-requests: write" (a pull request from a fork never gets it: use the reusable comment.yml from a workflow_run workflow, as the README shows)`
      }
    }
    return {
      status: 'failed',
      why: `the API ${status ? `answered ${status}` : 'failed'} (${(error as Error).message})`
    }
  }
}
