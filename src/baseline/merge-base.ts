/**
 * The merge base of a pull request, from the REST compare API: `GET
 * /repos/{owner}/{repo}/compare/{base}...{head}` answers `merge_base_commit.sha`, `ahead_by` and
 * `behind_by` (GitHub REST "Compare two commits"; `contents: read` suffices). The event's
 * `pull_request.base.sha` is the base branch's head when the event fired, not the merge base, and
 * a checkout is shallow, so git cannot tell either. `@actions/github` 9.1.1 is loaded only here,
 * when a pull request run needs it.
 */

export interface Comparison {
  mergeBase: string
  /** Commits on `head` that `base` lacks. */
  aheadBy: number
  /** Commits on `base` that `head` lacks. */
  behindBy: number
}

export async function compareCommits(
  token: string,
  owner: string,
  repo: string,
  base: string,
  head: string
): Promise<Comparison> {
  if (token === '') throw new Error('input github-token is empty')
  const { getOctokit } = await import('@actions/github')
  const octokit = getOctokit(token, {
    baseUrl: process.env.GITHUB_API_URL || 'https://api.github.com',
    request: { signal: AbortSignal.timeout(30_000) }
  })
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: `${base}...${head}`,
      per_page: 1
    })
    return {
      mergeBase: data.merge_base_commit.sha,
      aheadBy: data.ahead_by,
      behindBy: data.behind_by
    }
  } catch (error) {
    const status = (error as { status?: number }).status
    if (status === 403 || status === 401) {
      throw new Error(
        `the compare API answered ${status}: the token in github-token may not read this repository (it needs contents: read)`
      )
    }
    throw new Error(
      `the compare API ${status ? `answered ${status}` : 'failed'} (${(error as Error).message})`
    )
  }
}
