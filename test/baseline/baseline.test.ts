/**
 * Baselines end to end, in-process: run() with a mocked @actions/core (as test/main.test.ts), the
 * real `@actions/cache` 6.3.0 against a loopback fake of the cache service, and the real
 * `@actions/github` against a loopback fake of the compare endpoint. A push to main saves the
 * baseline; a pull request restores its merge base's (or, through the restore key, main's newest)
 * and reports the deltas. Replaced, as in every test: mlx_lm (the stand-in python).
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest
} from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import * as core from '../__fixtures__/core.js'
import { startCacheService, type CacheService } from '../fixtures/cache-service.js'
import { startGithubApi, type GithubApi } from '../fixtures/github-api.js'
import { makeTinySetup } from '../fixtures/tiny.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/main.js')
const { restoreBaseline, saveBaseline } = await import('../../src/baseline/store.js')
const { BASELINE_PATH } = await import('../../src/baseline/keys.js')
const { formatBinary, formatDecimal, formatSize } = await import('../../src/core/size.js')
/** `+2.10 MB (+2.00 MiB)`, as the report writes a growth of at least 1000 bytes. */
const grew = (d: number): string => `+${formatDecimal(d)} (+${formatBinary(d)})`

const NAME = 'fused-model'
const PREFIX = `mlx-fuse-baseline:v1:${NAME}:main:`
/** Commits: c(n) on main, each the child of the one before; pr(n) a pull request's head. */
const c = (n: number): string => n.toString(16).padStart(40, 'c')
const pr = (n: number): string => n.toString(16).padStart(40, 'e')

let root: string
let base: string
let adapters: string
let python: string
let cache: CacheService
let api: GithubApi
const savedEnv = { ...process.env }
const startDir = process.cwd()

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('baseline', { base: { dtype: 'bf16' } }))
  process.env.GITHUB_STEP_SUMMARY = path.join(root, 'summary.md')
})

beforeEach(async () => {
  cache = await startCacheService()
  api = await startGithubApi()
  // An action step runs in the workspace: the cache client needs both to be the same folder.
  const workspace = await fs.mkdtemp(path.join(root, 'ws-'))
  process.chdir(workspace)
  Object.assign(process.env, cache.env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'octo/models',
    GITHUB_API_URL: api.url,
    GITHUB_WORKSPACE: workspace
  })
})

afterEach(async () => {
  core.reset()
  process.exitCode = undefined
  await cache.close()
  await api.close()
})

afterAll(() => {
  process.chdir(startDir)
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
  Object.assign(process.env, savedEnv)
})

/** Main's history: c(1) .. c(n), each commit's parent the one before. */
function mainHistory(n: number): void {
  for (let i = 1; i <= n; i++) api.parents.set(c(i), i === 1 ? null : c(i - 1))
  api.branches.set('main', c(n))
}

async function event(name: string, payload: object): Promise<void> {
  const file = path.join(root, `event-${Date.now()}-${Math.random()}.json`)
  await fs.writeFile(file, JSON.stringify(payload))
  process.env.GITHUB_EVENT_NAME = name
  process.env.GITHUB_EVENT_PATH = file
}

/** A push of `commit` to main, an MLX-only run; returns the mlx output's bytes. */
async function pushRun(commit: string, extra: Record<string, string> = {}): Promise<number> {
  await event('push', { ref: 'refs/heads/main', repository: { default_branch: 'main' } })
  process.env.GITHUB_REF = 'refs/heads/main'
  process.env.GITHUB_SHA = commit
  return mlxRun(extra)
}

/** The pull request's number in the event (none: the comment has no pull request to go to). */
let prNumber: number | undefined

/** A pull request into main whose head is `head`; returns the mlx output's bytes. */
async function pullRun(
  head: string,
  extra: Record<string, string> = {},
  fails = false
): Promise<number> {
  await event('pull_request', {
    repository: { default_branch: 'main' },
    pull_request: {
      number: prNumber,
      base: { ref: 'main', sha: api.branches.get('main') },
      head: { sha: head }
    }
  })
  process.env.GITHUB_REF = 'refs/pull/7/merge'
  process.env.GITHUB_SHA = 'f'.repeat(40)
  process.env.GITHUB_BASE_REF = 'main'
  return mlxRun(extra, fails)
}

async function mlxRun(extra: Record<string, string>, fails = false): Promise<number> {
  core.reset()
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  Object.assign(core.inputs, {
    'base-model': base,
    'adapter-path': adapters,
    python,
    'output-dir': path.join(dir, NAME),
    upload: 'false',
    'github-token': 'ghs_faketoken0123456789',
    ...extra
  })
  await run()
  if (fails) expect(core.setFailed).toHaveBeenCalledTimes(1)
  else expect(core.setFailed).not.toHaveBeenCalled()
  // The size this test measures itself: the deltas are checked against it, not the action's figure.
  const bytes = await folderBytes(path.join(dir, NAME))
  expect(Number(JSON.parse(core.outputs.sizes).mlx)).toBe(bytes)
  return bytes
}

/** The bytes of every regular file under `dir` (a fused model holds no links). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

/** The cache version @actions/cache sends: sha256 of the path, the compression method and its salt. */
function versionFor(method: string): string {
  return createHash('sha256').update([BASELINE_PATH, method, '1.0'].join('|')).digest('hex')
}

/** The notices titled Baseline (the fuse explains itself in others). */
const notices = (): string[] =>
  core.notice.mock.calls.filter(call => call[1]?.title === 'Baseline').map(call => String(call[0]))

describe('baselines through the Actions cache', () => {
  it('a push to main saves the baseline; a pull request compares with its merge base', async () => {
    mainHistory(1)
    const pushBytes = await pushRun(c(1), { 'quantize-bits': '4' })
    expect(notices()).toEqual([
      expect.stringMatching(
        /^No earlier baseline of fused-model on main: this run saves the first one/
      )
    ])
    // Saved under the artifact name, branch and commit, from the one fixed path.
    const saved = cache.entries.filter(e => e.finalized)
    expect(saved.map(e => e.key)).toEqual([`${PREFIX}${c(1)}`])
    const versions = new Set(cache.calls.map(call => call.body.version))
    expect(versions.size).toBe(1)
    expect(['zstd-without-long', 'zstd', 'gzip'].map(versionFor)).toContain(saved[0].version)

    // A pull request branched from c(1); main moved on to c(2) without a baseline.
    mainHistory(2)
    api.parents.set(pr(1), c(1))
    cache.calls.length = 0
    const prBytes = await pullRun(pr(1))
    expect(prBytes).toBeGreaterThan(pushBytes) // bf16 against 4-bit: the pull request grew it
    expect(api.requests.map(r => r.path)).toEqual([`/repos/octo/models/compare/main...${pr(1)}`])
    expect(api.requests[0].authorization).toBe('token ghs_faketoken0123456789')
    const lookups = cache.calls.filter(call => call.method === 'GetCacheEntryDownloadURL')
    expect(lookups[0].body).toMatchObject({ key: `${PREFIX}${c(1)}`, restore_keys: [PREFIX] })
    expect(cache.calls.some(call => call.method === 'CreateCacheEntry')).toBe(false)

    expect(core.outputs['baseline-sha']).toBe(c(1))
    expect(JSON.parse(core.outputs.deltas)).toEqual({ mlx: prBytes - pushBytes })
    const summary = core.summary.text
    expect(summary).toContain(`vs main@${c(1).slice(0, 7)}`)
    expect(summary).toContain(`${grew(prBytes - pushBytes)}, +`)
    expect(summary).toContain(`the merge base of this pull request`)
    expect(notices()).toEqual([])
    // The scratch folder the restore used is gone from the workspace.
    await expect(
      fs.stat(path.join(process.env.GITHUB_WORKSPACE!, '.mlx-fuse-baseline'))
    ).rejects.toThrow(/ENOENT/)
  })

  it('falls back to the newest baseline of main through the restore key, and says how far it is', async () => {
    mainHistory(3)
    await pushRun(c(1))
    api.parents.set(pr(2), c(3)) // branched from c(3), which has no baseline
    api.requests.length = 0
    await pullRun(pr(2))
    expect(api.requests.map(r => r.path)).toEqual([
      `/repos/octo/models/compare/main...${pr(2)}`,
      `/repos/octo/models/compare/${c(3)}...${c(1)}`
    ])
    const lookups = cache.calls.filter(call => call.method === 'GetCacheEntryDownloadURL')
    expect(lookups.at(-2)?.body).toMatchObject({ key: `${PREFIX}${c(3)}`, restore_keys: [PREFIX] })
    expect(core.outputs['baseline-sha']).toBe(c(1))
    expect(JSON.parse(core.outputs.deltas)).toEqual({ mlx: 0 })
    expect(core.summary.text).toContain(
      `the newest baseline of main, 2 commits before the merge base <code>${c(3)}</code> (which has none)`
    )
    expect(core.summary.text).toContain('no change')
  })

  it('one restore gives the trend of the last 20 baselines, this one last', async () => {
    mainHistory(22)
    const history = Array.from({ length: 20 }, (_, i) => ({
      commit: c(i + 1),
      createdAt: `2026-12-0${1 + (i % 3)}T00:00:00.000Z`,
      sizes: { mlx: 1000 + i }
    }))
    const seeded = {
      schemaVersion: 1 as const,
      generator: 'mlx-fuse-action baseline' as const,
      artifactName: NAME,
      branch: 'main',
      commit: c(20),
      createdAt: history[19].createdAt,
      sizes: { mlx: 1019 },
      history,
      manifest: {}
    }
    expect(await saveBaseline(`${PREFIX}${c(20)}`, seeded)).toBeNull()
    cache.calls.length = 0
    const bytes = await pushRun(c(21))
    // One restore gave the whole trend (the cache cannot list entries): a lookup by this commit's
    // key and the restore key, then the download of the one entry it found, c(20)'s.
    expect(
      cache.calls.filter(call => call.method === 'GetCacheEntryDownloadURL').map(l => l.body)
    ).toEqual([
      expect.objectContaining({ key: `${PREFIX}${c(21)}`, restore_keys: [PREFIX] }),
      expect.objectContaining({ key: `${PREFIX}${c(20)}` })
    ])
    // The comment's Mermaid chart has the same 21 points: the 20 baselines, then this run.
    const body = core.outputs['comment-body']
    expect(body).toContain(
      `  x-axis [${[...history.map(p => `"${p.commit.slice(0, 7)}"`), '"this run"'].join(', ')}]`
    )
    expect(body).toContain(
      `  line [${[...history.map(p => (p.sizes.mlx / 1e6).toFixed(2)), (bytes / 1e6).toFixed(2)].join(', ')}]`
    )
    const restored = await restoreBaseline(`${PREFIX}${c(21)}`, [])
    expect(restored.status).toBe('hit')
    if (restored.status !== 'hit') return
    expect(restored.baseline.history).toHaveLength(20)
    expect(restored.baseline.history.map(p => p.commit)).toEqual([
      ...history.slice(1).map(p => p.commit),
      c(21)
    ])
    expect(restored.baseline.history.at(-1)?.sizes).toEqual({ mlx: bytes })
    expect(restored.baseline.sizes).toEqual({ mlx: bytes })
    // The push compared with the one before it: c(20)'s 1,019 bytes.
    expect(JSON.parse(core.outputs.deltas)).toEqual({ mlx: bytes - 1019 })
    // The summary keeps the trend as a table: the 20 baselines restored, oldest first, then this run.
    const trend =
      /<details><summary>Trend: the last baselines of main<\/summary>(.*?)<\/details>/.exec(
        core.summary.text
      )?.[1]
    const rows = [...(trend ?? '').matchAll(/<tr>(.*?)<\/tr>/g)].map(m => m[1])
    expect(rows[0]).toBe('<th>Baseline</th><th><code>mlx</code></th>')
    expect(rows.slice(1).map(r => /<td>(.*?)<\/td>/.exec(r)?.[1])).toEqual([
      ...history.map(p => `<code>${p.commit.slice(0, 7)}</code>`),
      'this run'
    ])
    expect(rows[1]).toContain(`<td>${formatSize(1000)}</td>`)
    expect(rows.at(-1)).toContain(`<td>${formatSize(bytes)}</td>`)
  })

  it('a change under size-delta-threshold reads "no change", the output keeps the exact bytes', async () => {
    mainHistory(1)
    const pushBytes = await pushRun(c(1), { 'quantize-bits': '4' })
    api.parents.set(pr(3), c(1))
    const prBytes = await pullRun(pr(3), { 'size-delta-threshold': '1GB' })
    expect(prBytes).not.toBe(pushBytes)
    expect(JSON.parse(core.outputs.deltas)).toEqual({ mlx: prBytes - pushBytes })
    expect(core.summary.text).toContain(`no change (${grew(prBytes - pushBytes)}, under 1GB)`)
    // The comment reads the same: its column says no change, with the exact bytes beside it.
    expect(core.outputs['comment-body']).toContain(
      `| \`mlx\` | ${formatSize(prBytes)} | no change (${grew(prBytes - pushBytes)}, under 1GB) |`
    )
  })

  it('a growth limit fails the pull request that grew the model where the absolute budget passes', async () => {
    mainHistory(1)
    const pushBytes = await pushRun(c(1), { 'quantize-bits': '4', 'size-budget': 'mlx=+5%' })
    // The push had nothing to compare with: the growth limit is skipped, the run green.
    expect(
      core.notice.mock.calls.filter(call => call[1]?.title === 'Growth limit skipped')
    ).toEqual([
      [
        'There is no baseline to compare with, so the growth limit "mlx=+5%" for mlx is skipped; absolute budgets still apply.',
        { title: 'Growth limit skipped' }
      ]
    ])
    api.parents.set(pr(6), c(1))
    const budget = `mlx=${pushBytes * 10}, mlx=+5%`
    const prBytes = await pullRun(pr(6), { 'size-budget': budget }, true)
    expect(prBytes).toBeGreaterThan(Math.floor(pushBytes * 1.05)) // bf16 against 4-bit
    expect(core.outputs['within-budget']).toBe('false')
    const message = String(core.setFailed.mock.calls[0][0])
    expect(message).toMatch(/^mlx is over the size budget/)
    const limit = pushBytes + Math.floor(pushBytes / 20)
    const manifest = JSON.parse(await fs.readFile(core.outputs.manifest, 'utf8')) as {
      outputs: Array<{ budgetBytes: number; budget: string; headroomBytes: number }>
    }
    expect(manifest.outputs[0]).toMatchObject({
      budgetBytes: limit,
      budget: 'mlx=+5%',
      headroomBytes: limit - prBytes
    })
    const errors = core.error.mock.calls.map(call => String(call[0]))
    expect(errors).toEqual([
      expect.stringContaining(
        `mlx: ${formatSize(prBytes)} grew by ${formatSize(prBytes - pushBytes)} (+`
      )
    ])
    expect(errors[0]).toContain(`against main@${c(1).slice(0, 7)}, over its growth limit`)
    // The absolute budget alone passes the same pull request.
    await pullRun(pr(6), { 'size-budget': `mlx=${pushBytes * 10}` })
    expect(core.outputs['within-budget']).toBe('true')
  })

  it('without a baseline: one notice saying when one will exist, no deltas, the run green', async () => {
    mainHistory(1)
    api.parents.set(pr(4), c(1))
    await pullRun(pr(4))
    expect(notices()).toEqual([
      'No baseline of fused-model on main yet: one is saved when this step completes on a push to main (add "push: branches: [main]" to the workflow\'s triggers), and pull requests show deltas after that.'
    ])
    expect(core.outputs['baseline-sha']).toBeUndefined()
    expect(core.outputs.deltas).toBeUndefined()
    expect(core.summary.text).not.toContain('vs main@')
  })

  it('a compare API that refuses the token: the newest baseline of main, the merge base unknown', async () => {
    mainHistory(2)
    await pushRun(c(2))
    api.parents.set(pr(5), c(1))
    api.status = 403
    await pullRun(pr(5))
    expect(core.outputs['baseline-sha']).toBe(c(2))
    expect(core.summary.text).toContain(
      'the merge base is unknown (the compare API answered 403: the token in github-token may not read this repository (it needs contents: read))'
    )
  })
})

describe('cache faults: a notice, the run green', () => {
  it('a re-run of the push that saved a baseline saves none again, and says so in the summary', async () => {
    mainHistory(1)
    await pushRun(c(1))
    cache.calls.length = 0
    await pushRun(c(1))
    expect(cache.calls.map(call => call.method)).not.toContain('CreateCacheEntry')
    expect(notices()).toEqual([])
    expect(core.summary.text).toContain('which an earlier attempt of this run saved')
  })

  it('a refused reservation leaves the baseline unsaved with a notice', async () => {
    mainHistory(1)
    cache.options.refuseReservation = 'cache entry with the same key is being written'
    await pushRun(c(1))
    expect(notices().at(-1)).toMatch(
      /^This run's baseline of fused-model on main was not saved \(the cache did not take the entry "mlx-fuse-baseline:v1:fused-model:main:c+1"/
    )
    expect(cache.entries.filter(e => e.finalized)).toEqual([])
  })

  it('a 5xx on the blob upload leaves the baseline unsaved with a notice', async () => {
    mainHistory(1)
    cache.options.uploadStatus = 502
    await pushRun(c(1))
    expect(notices().at(-1)).toMatch(/^This run's baseline of fused-model on main was not saved/)
    expect(cache.calls.map(call => call.method)).not.toContain('FinalizeCacheEntryUpload')
  })

  it('a corrupt download: the baseline is found but not restored, no deltas', async () => {
    mainHistory(1)
    await pushRun(c(1))
    cache.options.corruptDownload = Buffer.from('not a tar archive at all')
    api.parents.set(pr(6), c(1))
    await pullRun(pr(6))
    expect(notices()).toEqual([
      `The baseline of fused-model on main could not be restored (the cache entry "${PREFIX}${c(1)}" was found but not restored); this run shows no deltas.`
    ])
    expect(core.outputs.deltas).toBeUndefined()
    await expect(
      fs.stat(path.join(process.env.GITHUB_WORKSPACE!, '.mlx-fuse-baseline'))
    ).rejects.toThrow(/ENOENT/)
  })

  it("a folder of the user's at .mlx-fuse-baseline is never written over: a notice, nothing saved", async () => {
    mainHistory(1)
    const mine = path.join(process.env.GITHUB_WORKSPACE!, '.mlx-fuse-baseline')
    await fs.mkdir(mine)
    await fs.writeFile(path.join(mine, 'baseline.json'), 'my own file\n')
    await pushRun(c(1))
    expect(notices().at(-1)).toContain(
      `"${await fs.realpath(mine)}" already exists and the action never writes over it`
    )
    expect(await fs.readFile(path.join(mine, 'baseline.json'), 'utf8')).toBe('my own file\n')
    expect(cache.calls.map(call => call.method)).not.toContain('CreateCacheEntry')
  })

  it('no cache service (as on GHES without one): one notice, no compare call', async () => {
    mainHistory(1)
    delete process.env.ACTIONS_RESULTS_URL
    api.parents.set(pr(7), c(1))
    await pullRun(pr(7))
    expect(notices()).toEqual([
      'No baseline is compared: the Actions cache service is not available to this job (no ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL, as on GitHub Enterprise Server without a cache or outside a runner).'
    ])
    expect(api.requests).toEqual([])
  })
})

describe('the pull-request comment', () => {
  const COMMENTS = '/repos/octo/models/issues/7/comments'
  const MARKER = '<!-- mlx-fuse-action comment: fused-model -->'
  beforeEach(() => {
    prNumber = 7
    Object.assign(process.env, { GITHUB_SERVER_URL: 'https://github.com', GITHUB_RUN_ID: '42' })
  })
  afterEach(() => {
    prNumber = undefined
  })
  const commentCalls = (): Array<{ method: string; path: string }> =>
    api.requests
      .filter(r => r.path.includes('/issues/'))
      .map(r => ({ method: r.method, path: r.path }))

  it('posts one comment with the deltas, bars and trend, then updates it in place', async () => {
    mainHistory(1)
    const pushBytes = await pushRun(c(1), { 'quantize-bits': '4', 'size-budget': 'mlx=10MB' })
    // A push: the body is written, nothing is posted.
    expect(commentCalls()).toEqual([])
    expect(await fs.readFile(core.outputs['comment-file'], 'utf8')).toBe(
      core.outputs['comment-body']
    )

    api.parents.set(pr(1), c(1))
    // Someone quoting the marker, and the comment of another artifact name: neither is updated.
    api.comments.push(
      { id: 1, issue: 7, body: `${MARKER}\nLooks good`, user: 'octocat' },
      {
        id: 2,
        issue: 7,
        body: '<!-- mlx-fuse-action comment: other -->\nold',
        user: 'github-actions[bot]'
      }
    )
    const prBytes = await pullRun(pr(1), { 'size-budget': 'mlx=10MB' })
    const body = core.outputs['comment-body']
    expect(await fs.readFile(core.outputs['comment-file'], 'utf8')).toBe(body)
    expect(body.split('\n')[0]).toBe(MARKER)
    expect(body).toContain(`vs main&#64;${c(1).slice(0, 7)}`)
    expect(body).toContain(`| \`mlx\` | ${formatSize(prBytes)} | ${grew(prBytes - pushBytes)}, +`)
    const percent = Math.floor((prBytes * 100) / 10_000_000)
    expect(body).toContain(` ${percent} %\` | ✅ within budget |`)
    expect(body).toContain('[The job summary](https://github.com/octo/models/actions/runs/42)')
    // The trend: the one baseline of main, then this run, in MB.
    expect(body).toContain('```mermaid\nxychart-beta\n')
    expect(body).toContain(`  x-axis ["${c(1).slice(0, 7)}", "this run"]`)
    expect(body).toContain(
      `  line [${(pushBytes / 1e6).toFixed(2)}, ${(prBytes / 1e6).toFixed(2)}]`
    )
    expect(commentCalls()).toEqual([
      { method: 'GET', path: COMMENTS },
      { method: 'POST', path: COMMENTS }
    ])
    const post = api.requests.find(r => r.method === 'POST')!
    expect(post.authorization).toBe('token ghs_faketoken0123456789')
    expect(post.body).toEqual({ body })
    expect(api.comments.map(x => x.id)).toEqual([1, 2, 1002])

    // The next push to the pull request updates that comment; it never adds a second.
    api.requests.length = 0
    await pullRun(pr(1), { 'size-budget': 'mlx=1kB', 'on-over-budget': 'warn' })
    expect(commentCalls()).toEqual([
      { method: 'GET', path: COMMENTS },
      { method: 'PATCH', path: '/repos/octo/models/issues/comments/1002' }
    ])
    expect(api.comments).toHaveLength(3)
    expect(api.comments[2].body).toBe(core.outputs['comment-body'])
    expect(api.comments[2].body).toContain('██████████')
    expect(api.comments[2].body).toContain('(over budget)')
    expect(api.comments.slice(0, 2).map(x => x.body)).toEqual([
      `${MARKER}\nLooks good`,
      '<!-- mlx-fuse-action comment: other -->\nold'
    ])
  })

  it('finds its earlier comment on a later page of the list', async () => {
    mainHistory(1)
    api.parents.set(pr(2), c(1))
    for (let i = 0; i < 150; i++)
      api.comments.push({ id: i + 1, issue: 7, body: `n${i}`, user: 'x' })
    api.comments.push({ id: 500, issue: 7, body: `${MARKER}\nold`, user: 'github-actions[bot]' })
    await pullRun(pr(2))
    expect(commentCalls().map(r => r.method)).toEqual(['GET', 'GET', 'PATCH'])
    expect(api.comments.find(x => x.id === 500)?.body).toBe(core.outputs['comment-body'])
  })

  it('a token that may not comment (403): one warning naming pull-requests: write, the run green', async () => {
    mainHistory(1)
    api.parents.set(pr(3), c(1))
    api.commentStatus = 403
    await pullRun(pr(3)) // asserts setFailed was not called
    const warnings = core.warning.mock.calls.filter(
      call => call[1]?.title === 'Pull-request comment'
    )
    expect(warnings).toHaveLength(1)
    expect(String(warnings[0][0])).toMatch(
      /^The pull-request comment was not posted: the API answered 403: .*grant the job "pull-requests: write"/
    )
    expect(path.basename(core.outputs['comment-file'])).toBe('fused-model.comment.md')
  })

  it('comment: false posts nothing; the body is still written', async () => {
    mainHistory(1)
    api.parents.set(pr(4), c(1))
    await pullRun(pr(4), { comment: 'false' })
    expect(commentCalls()).toEqual([])
    expect(await fs.readFile(core.outputs['comment-file'], 'utf8')).toContain(MARKER)
  })
})
