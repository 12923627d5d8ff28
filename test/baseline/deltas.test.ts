/**
 * The pieces of src/baseline without a service: deltas and their text, the threshold input, the
 * cache keys, the event's role, the baseline file's history, and the summary's column with a row
 * for an output that appeared and one that vanished.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  baselineView,
  deltaColumn,
  deltaRows,
  deltasOutput,
  renderDelta,
  signedPercent
} from '../../src/baseline/deltas.js'
import { baselineRole } from '../../src/baseline/event.js'
import { HISTORY_LENGTH, nextBaseline, parseBaseline } from '../../src/baseline/history.js'
import { parseThreshold, readBaselineInputs } from '../../src/baseline/inputs.js'
import { baselineKey, branchPrefix, commitOfKey } from '../../src/baseline/keys.js'
import { judge } from '../../src/budget/index.js'
import { writeSummary, type RunReport } from '../../src/report/index.js'
import type { MeasuredOutput } from '../../src/core/types.js'
import { useRunnerFiles } from '../fixtures/runner-files.js'

const runner = useRunnerFiles('deltas')
const SHA = 'a'.repeat(40)

describe('deltas', () => {
  it('one row per output, then one per output gone; an absent side counts as 0', () => {
    const rows = deltaRows(
      [
        { name: 'mlx', bytes: 2_500_000_000 },
        { name: 'Q4_K_M', bytes: 900_000_000 }
      ],
      { mlx: 2_000_000_000, Q8_0: 1_600_000_000 },
      null
    )
    expect(rows).toEqual([
      {
        name: 'mlx',
        status: 'changed',
        bytes: 2_500_000_000,
        baseBytes: 2_000_000_000,
        delta: 500_000_000
      },
      { name: 'Q4_K_M', status: 'new', bytes: 900_000_000, baseBytes: null, delta: 900_000_000 },
      { name: 'Q8_0', status: 'gone', bytes: null, baseBytes: 1_600_000_000, delta: -1_600_000_000 }
    ])
    expect(deltasOutput(rows)).toEqual({
      mlx: 500_000_000,
      Q4_K_M: 900_000_000,
      Q8_0: -1_600_000_000
    })
    expect(rows.map(r => renderDelta(r, null))).toEqual([
      '+500.00 MB (+476.84 MiB), +25 %',
      'new output (+900.00 MB (+858.31 MiB))',
      'gone (was 1.60 GB (1.49 GiB))'
    ])
  })

  it('a threshold in percent or bytes turns a smaller change into "no change", keeping the bytes', () => {
    const outputs = [{ name: 'mlx', bytes: 1_004_000 }]
    const base = { mlx: 1_000_000 }
    const pct = deltaRows(outputs, base, parseThreshold('0.5%'))
    expect(pct[0]).toMatchObject({ status: 'no change', delta: 4000 })
    expect(renderDelta(pct[0], parseThreshold('0.5%'))).toBe(
      'no change (+4.00 kB (+3.91 KiB), under 0.5%)'
    )
    expect(deltaRows(outputs, base, parseThreshold('0.4%'))[0].status).toBe('changed')
    expect(deltaRows(outputs, base, parseThreshold('4001'))[0].status).toBe('no change')
    expect(deltaRows(outputs, base, parseThreshold('4kB'))[0].status).toBe('changed')
    expect(renderDelta(deltaRows(outputs, { mlx: 1_004_000 }, null)[0], null)).toBe('no change')
  })

  it('percent: one decimal under 10 %, a tiny change never reads as 0', () => {
    expect(signedPercent(-72, 100)).toBe('−72 %')
    expect(signedPercent(5, 1000)).toBe('+0.5 %')
    expect(signedPercent(1, 1_000_000)).toBe('+<0.1 %')
  })
})

describe('inputs', () => {
  it('size-delta-threshold takes a percentage or a size, and refuses anything else in one sentence', () => {
    expect(parseThreshold('')).toBeNull()
    expect(parseThreshold('0.5%')).toEqual({ kind: 'percent', percent: 0.5, text: '0.5%' })
    expect(parseThreshold('1MB')).toEqual({ kind: 'bytes', bytes: 1_000_000, text: '1MB' })
    expect(() => parseThreshold('150%')).toThrow(
      'Input size-delta-threshold is "150%"; a percentage must be above 0 and below 100, such as 0.5%.'
    )
    expect(() => parseThreshold('-1%')).toThrow(/write a percentage as a plain number and %/)
    expect(() => parseThreshold('1M')).toThrow(
      /Input size-delta-threshold has an invalid size "1M"/
    )
  })

  it('baseline-branch must be a branch name', () => {
    const read = (branch: string) =>
      readBaselineInputs(n => (n === 'baseline-branch' ? branch : ''), 'model')
    expect(read('').branch).toBeNull()
    expect(read('release/1.x').branch).toBe('release/1.x')
    expect(() => read('refs/heads/main')).toThrow(
      'Input baseline-branch is "refs/heads/main", which is not a branch name; write the branch\'s short name, such as main.'
    )
    expect(() => read('a:b')).toThrow(/not a branch name/)
  })
})

describe('cache keys', () => {
  it('name the artifact, branch and commit; a restore key is a prefix of one name and branch only', () => {
    expect(baselineKey('model', 'main', SHA)).toBe(`mlx-fuse-baseline:v1:model:main:${SHA}`)
    expect(baselineKey('model', 'main', SHA).startsWith(branchPrefix('model', 'main'))).toBe(true)
    // "model" on branch "x-main" and "model-x" on "main" never share a prefix.
    expect(baselineKey('model-x', 'main', SHA).startsWith(branchPrefix('model', 'x'))).toBe(false)
    // The cache refuses commas in keys: they are written out.
    expect(branchPrefix('a,b', 'c%d')).toBe('mlx-fuse-baseline:v1:a%2Cb:c%25d:')
    expect(commitOfKey(baselineKey('model', 'main', SHA))).toBe(SHA)
    expect(commitOfKey('something-else')).toBeNull()
  })
})

describe('the event', () => {
  const env = async (name: string, payload: object, extra: Record<string, string> = {}) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'event-'))
    const file = path.join(dir, 'event.json')
    await fs.writeFile(file, JSON.stringify(payload))
    return {
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: name,
      GITHUB_EVENT_PATH: file,
      GITHUB_REPOSITORY: 'octo/models',
      ...extra
    }
  }
  const repo = { repository: { default_branch: 'main' } }

  it('a push to the default branch saves; a push elsewhere, or no runner, does nothing', async () => {
    const push = (ref: string) => env('push', repo, { GITHUB_REF: ref, GITHUB_SHA: SHA })
    expect(await baselineRole(null, await push('refs/heads/main'))).toEqual({
      kind: 'save',
      branch: 'main',
      commit: SHA
    })
    expect(await baselineRole(null, await push('refs/heads/topic'))).toEqual({
      kind: 'none',
      why: null
    })
    expect(await baselineRole('topic', await push('refs/heads/topic'))).toMatchObject({
      kind: 'save',
      branch: 'topic'
    })
    expect(await baselineRole(null, {})).toEqual({ kind: 'none', why: null })
  })

  it('a pull request compares with its base branch, and says when baselines live elsewhere', async () => {
    const pull = await env('pull_request', {
      ...repo,
      pull_request: { base: { ref: 'dev' }, head: { sha: SHA } }
    })
    expect(await baselineRole(null, pull)).toEqual({
      kind: 'compare',
      baseBranch: 'dev',
      head: SHA,
      otherBaselineBranch: 'main',
      owner: 'octo',
      repo: 'models'
    })
    expect(await baselineRole('dev', pull)).toMatchObject({ otherBaselineBranch: null })
  })
})

describe('the baseline file', () => {
  const manifest = (bytes: number) =>
    JSON.stringify({ status: 'complete', createdAt: 'T', outputs: [{ name: 'mlx', bytes }] })

  it('keeps the last 20 baselines, this one last; a failed manifest is no baseline', () => {
    let b = nextBaseline(manifest(0), { artifactName: 'm', branch: 'main', commit: 'c0' }, null)
    for (let i = 1; i < 25; i++) {
      b = nextBaseline(manifest(i), { artifactName: 'm', branch: 'main', commit: `c${i}` }, b)
    }
    expect(b?.history).toHaveLength(HISTORY_LENGTH)
    expect(b?.history[0]).toEqual({ commit: 'c5', createdAt: 'T', sizes: { mlx: 5 } })
    expect(b?.history.at(-1)?.commit).toBe('c24')
    expect(parseBaseline(JSON.stringify(b))).toEqual(b)
    expect(
      nextBaseline(
        JSON.stringify({ status: 'failed', outputs: [] }),
        { artifactName: 'm', branch: 'main', commit: 'x' },
        null
      )
    ).toBeNull()
    expect(() => parseBaseline('{"schemaVersion": 2}')).toThrow(
      'it is not a baseline this action wrote (schemaVersion 1)'
    )
  })
})

describe('the summary column', () => {
  it('adds "vs main@<short sha>" with a cell per output and a row for an output gone', async () => {
    const output = (name: string, bytes: number): MeasuredOutput => ({
      name,
      kind: name === 'mlx' ? 'mlx' : 'gguf',
      path: `/out/${name}`,
      bytes,
      files: 1,
      format: name,
      parameters: null,
      bitsPerWeight: null
    })
    const outputs = judge([output('mlx', 3_000_000), output('Q4_K_M', 1_000_000)], [])
    const report: RunReport = {
      baseModel: 'b',
      baseBytes: null,
      adapterPath: 'a',
      mlxLm: { version: '0.32.2', python: 'python', source: 'PATH' },
      llamaCpp: null,
      commands: [],
      outputs,
      diagnoses: [],
      notes: [],
      onOverBudget: 'fail',
      manifestPath: '/out/m.json',
      peakDiskBytes: 0,
      deltas: {
        label: 'main@<b>aaaaa',
        commit: SHA,
        branch: 'main',
        rows: deltaRows(outputs, { mlx: 2_000_000, Q8_0: 1_500_000 }, null),
        threshold: null,
        history: []
      }
    }
    // The comment's view: deltas of outputs both runs have, the history as sha and bytes.
    expect(
      baselineView({
        ...report.deltas!,
        history: [{ commit: SHA, createdAt: 'T', sizes: { mlx: 1 } }]
      })
    ).toEqual({
      baselineSha: SHA,
      branch: 'main',
      deltas: { mlx: 1_000_000 },
      history: [{ sha: SHA, bytes: { mlx: 1 } }]
    })
    expect(deltaColumn(report.deltas!).gone).toEqual([
      { name: 'Q8_0', cell: 'gone (was 1.50 MB (1.43 MiB))' }
    ])
    await writeSummary(report)
    const summary = await fs.readFile(path.join(runner.dir, 'summary.md'), 'utf8')
    expect(summary).toContain('<th>vs main@&lt;b&gt;aaaaa</th>')
    expect(summary).toContain('<td>+1.00 MB (+976.56 KiB), +50 %</td>')
    expect(summary).toContain('<td>new output (+1.00 MB (+976.56 KiB))</td>')
    expect(summary).toMatch(
      /<td><code>Q8_0<\/code><\/td>(<td>—<\/td>)+<td>gone \(was 1\.50 MB \(1\.43 MiB\)\)<\/td>/
    )
  })
})
