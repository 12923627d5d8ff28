/**
 * Baselines for run(): before the report, find the baseline this run compares with (a pull
 * request: its merge base's, else the base branch's newest; a push to the baseline branch: that
 * branch's newest); after the upload, save this run's when it is a push to the baseline branch
 * with a completed manifest (whatever its verdict). Never a failure: what goes wrong is one
 * notice, and the run goes on without deltas.
 */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import type { BaselineConfig } from '../core/config.js'
import { redact } from '../core/redact.js'
import type { Diagnosis } from '../core/types.js'
import { deltaRows, type Deltas } from './deltas.js'
import { baselineRole, type BaselineRole } from './event.js'
import { nextBaseline, type BaselineFile } from './history.js'
import { baselineKey, branchPrefix, commitOfKey } from './keys.js'
import { compareCommits } from './merge-base.js'
import { cacheUnavailable, restoreBaseline, saveBaseline } from './store.js'

const TITLE = 'Baseline'

/** What findBaseline learnt: the baseline (or null) and what the report says about it. */
export interface FoundBaseline {
  role: BaselineRole
  baseline: BaselineFile | null
  /** `main@1a2b3c4`. */
  label: string | null
  diagnoses: Diagnosis[]
  notes: string[]
  /** Cache service missing: nothing is saved either. */
  unavailable: boolean
}

export async function findBaseline(config: BaselineConfig): Promise<FoundBaseline> {
  const role = await baselineRole(config.branch)
  const found: FoundBaseline = {
    role,
    baseline: null,
    label: null,
    diagnoses: [],
    notes: [],
    unavailable: false
  }
  const notice = (text: string): void => {
    found.diagnoses.push({ level: 'notice', title: TITLE, text })
  }
  if (role.kind === 'none') {
    if (role.why) notice(role.why)
    return found
  }
  const unavailable = await cacheUnavailable()
  if (unavailable) {
    found.unavailable = true
    notice(`No baseline is ${role.kind === 'save' ? 'saved' : 'compared'}: ${unavailable}.`)
    return found
  }
  if (role.kind === 'compare' && role.otherBaselineBranch) {
    notice(
      `No baseline to compare with: baselines are saved on pushes to ${role.otherBaselineBranch} (baseline-branch), and this pull request targets ${role.baseBranch}.`
    )
    return found
  }
  const branch = role.kind === 'save' ? role.branch : role.baseBranch
  const prefix = branchPrefix(config.name, branch)

  let mergeBase: string | null = null
  let mergeBaseWhy = ''
  if (role.kind === 'compare') {
    try {
      const c = await compareCommits(config.token, role.owner, role.repo, branch, role.head)
      mergeBase = c.mergeBase
    } catch (error) {
      mergeBaseWhy = (error as Error).message
    }
  }
  const primary =
    role.kind === 'save'
      ? baselineKey(config.name, branch, role.commit)
      : mergeBase
        ? baselineKey(config.name, branch, mergeBase)
        : prefix
  const restored = await restoreBaseline(primary, [prefix])
  if (restored.status === 'fault') {
    notice(
      `The baseline of ${config.name} on ${branch} could not be restored (${restored.why}); this run shows no deltas${role.kind === 'save' ? ' and its baseline starts a new history' : ''}.`
    )
    return found
  }
  if (restored.status === 'miss') {
    notice(
      role.kind === 'save'
        ? `No earlier baseline of ${config.name} on ${branch}: this run saves the first one, and pull requests into ${branch} show deltas against it.`
        : `No baseline of ${config.name} on ${branch} yet: one is saved when this step completes on a push to ${branch} (add "push: branches: [${branch}]" to the workflow's triggers), and pull requests show deltas after that.`
    )
    return found
  }
  const commit = commitOfKey(restored.key) ?? restored.baseline.commit
  found.baseline = restored.baseline
  found.label = `${branch}@${commit.slice(0, 7)}`
  found.notes.push(await whereFrom(config, role, commit, mergeBase, mergeBaseWhy))
  return found
}

/** One sentence: which commit the baseline is from, and how far it is from the merge base. */
async function whereFrom(
  config: BaselineConfig,
  role: BaselineRole,
  commit: string,
  mergeBase: string | null,
  mergeBaseWhy: string
): Promise<string> {
  const head = `Deltas are against the baseline of \`${commit}\``
  if (role.kind !== 'compare') {
    return role.kind === 'save' && role.commit === commit
      ? `${head}, which an earlier attempt of this run saved (this attempt saves none).`
      : `${head}, the newest earlier baseline of this branch.`
  }
  if (mergeBase === null) {
    return `${head}, the newest baseline of ${role.baseBranch}; the merge base is unknown (${mergeBaseWhy}).`
  }
  if (commit === mergeBase) return `${head}, the merge base of this pull request.`
  try {
    const c = await compareCommits(config.token, role.owner, role.repo, mergeBase, commit)
    const far =
      c.aheadBy > 0
        ? `${c.aheadBy} commit${c.aheadBy === 1 ? '' : 's'} after`
        : `${c.behindBy} commit${c.behindBy === 1 ? '' : 's'} before`
    return `${head}, the newest baseline of ${role.baseBranch}, ${far} the merge base \`${mergeBase}\` (which has none).`
  } catch (error) {
    return `${head}, the newest baseline of ${role.baseBranch}; the merge base \`${mergeBase}\` has none, and the distance between them is unknown (${(error as Error).message}).`
  }
}

/** What a growth limit judges against (src/budget/growth.ts), or null without a baseline. */
export function growthBaseline(
  found: FoundBaseline
): { label: string; sizes: Record<string, number> } | null {
  return found.baseline && found.label ? { label: found.label, sizes: found.baseline.sizes } : null
}

/** The report's deltas against the baseline found, or null without one. */
export function baselineDeltas(
  config: BaselineConfig,
  found: FoundBaseline,
  outputs: ReadonlyArray<{ name: string; bytes: number }>
): Deltas | null {
  if (!found.baseline || !found.label) return null
  return {
    label: found.label,
    commit: found.baseline.commit,
    branch: found.baseline.branch,
    rows: deltaRows(outputs, found.baseline.sizes, config.threshold),
    threshold: config.threshold,
    history: found.baseline.history
  }
}

/**
 * On a push to the baseline branch, saves the manifest run() wrote as this commit's baseline, with
 * the history of the one found before; a notice when it cannot. Other runs save nothing.
 */
export async function keepBaseline(
  config: BaselineConfig,
  found: FoundBaseline,
  manifestPath: string
): Promise<void> {
  const role = found.role
  if (role.kind !== 'save' || found.unavailable) return
  // A re-run of the same push: an earlier attempt saved this commit's baseline (cache entries
  // cannot be replaced), and the one found was it.
  if (found.baseline?.commit === role.commit) return
  const text = await fs.readFile(manifestPath, 'utf8').catch(() => '')
  const where = { artifactName: config.name, branch: role.branch, commit: role.commit }
  const baseline = nextBaseline(text, where, found.baseline)
  const why = baseline
    ? await saveBaseline(baselineKey(config.name, role.branch, role.commit), baseline)
    : `the manifest "${manifestPath}" does not say status: complete`
  if (why) {
    core.notice(
      redact(
        `This run's baseline of ${config.name} on ${role.branch} was not saved (${why}); pull requests compare with an earlier one, if any.`
      ),
      { title: TITLE }
    )
  }
}
