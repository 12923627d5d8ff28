/**
 * What this workflow run is to the baselines, from the runner's environment and the event payload
 * (GITHUB_EVENT_PATH): a push to the baseline branch restores that branch's newest baseline (for
 * its history and deltas) and saves its own; a pull request compares with its base branch's;
 * anything else (a local run, workflow_dispatch, a push elsewhere) leaves baselines alone.
 * Read here rather than from `@actions/github`'s `context`, which reads the event once when the
 * module loads.
 */
import { promises as fs } from 'node:fs'

export type BaselineRole =
  | {
      kind: 'save'
      branch: string
      /** The pushed commit (GITHUB_SHA). */
      commit: string
    }
  | {
      kind: 'compare'
      /** The pull request's base branch (`pull_request.base.ref`). */
      baseBranch: string
      /** The pull request's head commit (`pull_request.head.sha`), for the merge base. */
      head: string
      /** The baseline branch, when the base branch is not it: no baseline can exist. */
      otherBaselineBranch: string | null
      owner: string
      repo: string
    }
  | { kind: 'none'; why: string | null }

interface EventPayload {
  repository?: { default_branch?: string }
  pull_request?: { base?: { ref?: string }; head?: { sha?: string } }
}

const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/

/** `branch`: input baseline-branch (null: the repository's default branch, from the payload). */
export async function baselineRole(
  branch: string | null,
  env: NodeJS.ProcessEnv = process.env
): Promise<BaselineRole> {
  if (env.GITHUB_ACTIONS !== 'true') return { kind: 'none', why: null }
  const name = env.GITHUB_EVENT_NAME ?? ''
  const isPush = name === 'push'
  const isPull = name === 'pull_request' || name === 'pull_request_target'
  if (!isPush && !isPull) return { kind: 'none', why: null }
  const payload = await readPayload(env.GITHUB_EVENT_PATH)
  const baselineBranch = branch ?? payload?.repository?.default_branch ?? null
  if (!baselineBranch) {
    return {
      kind: 'none',
      why: `The event payload names no default branch, so no baseline is saved or compared; set baseline-branch to the branch whose pushes keep baselines, such as main.`
    }
  }
  if (isPush) {
    const ref = env.GITHUB_REF ?? ''
    const commit = (env.GITHUB_SHA ?? '').toLowerCase()
    if (ref !== `refs/heads/${baselineBranch}` || !SHA.test(commit)) {
      return { kind: 'none', why: null }
    }
    return { kind: 'save', branch: baselineBranch, commit }
  }
  const baseBranch = payload?.pull_request?.base?.ref ?? env.GITHUB_BASE_REF ?? ''
  const head = (payload?.pull_request?.head?.sha ?? '').toLowerCase()
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!baseBranch || !SHA.test(head) || !owner || !repo) {
    return {
      kind: 'none',
      why: 'The pull_request event payload names no base branch or head commit, so no baseline is compared.'
    }
  }
  return {
    kind: 'compare',
    baseBranch,
    head,
    otherBaselineBranch: baseBranch === baselineBranch ? null : baselineBranch,
    owner,
    repo
  }
}

async function readPayload(file: string | undefined): Promise<EventPayload | null> {
  if (!file) return null
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as EventPayload
  } catch {
    return null
  }
}
