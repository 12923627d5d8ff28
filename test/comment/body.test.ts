/** The pull-request comment's body (src/comment/body.ts): what it says, and that outside text stays text. */
import { describe, expect, it } from '@jest/globals'
import { judge, parseSizeBudget } from '../../src/budget/index.js'
import {
  commentBody,
  commentMarker,
  failureBody,
  MAX_BODY_CHARS,
  mdText,
  mdUrl
} from '../../src/comment/body.js'
import type { Deltas } from '../../src/baseline/deltas.js'
import type { MeasuredOutput } from '../../src/core/types.js'
import type { RunReport } from '../../src/report/index.js'

const output = (name: string, bytes: number): MeasuredOutput => ({
  name,
  kind: name === 'mlx' ? 'mlx' : 'gguf',
  path: '/x',
  bytes,
  files: 1,
  format: 'f',
  parameters: null,
  bitsPerWeight: null
})

const sha = (n: number): string => n.toString(16).padEnd(40, 'a')

function reportWith(deltas: Deltas | null, budget = 'mlx=2.5GB, Q4_K_M=1GB'): RunReport {
  const { budgets } = parseSizeBudget(budget, new Set(['Q4_K_M']))
  return {
    outputs: judge([output('mlx', 1_525_000_000), output('Q4_K_M', 1_200_000_000)], budgets),
    onOverBudget: 'fail',
    deltas
  } as unknown as RunReport
}

const deltas: Deltas = {
  label: 'main@1aaaaaa',
  commit: sha(1),
  branch: 'main',
  threshold: null,
  rows: [
    {
      name: 'mlx',
      status: 'changed',
      bytes: 1_525_000_000,
      baseBytes: 1_500_000_000,
      delta: 25_000_000
    },
    { name: 'Q4_K_M', status: 'new', bytes: 1_200_000_000, baseBytes: null, delta: 1_200_000_000 },
    { name: 'Q8_0', status: 'gone', bytes: null, baseBytes: 2_000_000_000, delta: -2_000_000_000 }
  ],
  history: [
    { commit: sha(2), createdAt: '', sizes: { mlx: 1_400_000_000 } },
    { commit: sha(1), createdAt: '', sizes: { mlx: 1_500_000_000, Q8_0: 2_000_000_000 } }
  ]
}

describe('the comment body', () => {
  it('has the marker, a row per output with delta, budget, bar and verdict, the gone output, links and the trend', () => {
    const body = commentBody({
      report: reportWith(deltas),
      artifactName: 'fused-model',
      artifacts: [
        {
          name: 'fused-model-mlx',
          output: 'mlx',
          id: 9,
          digest: 'sha256:00',
          url: 'https://github.com/octo/models/actions/runs/42/artifacts/9',
          bytes: 1_400_000_000,
          seconds: 1
        }
      ],
      runUrl: 'https://github.com/octo/models/actions/runs/42'
    })
    expect(body).toBe(
      [
        '<!-- mlx-fuse-action comment: fused-model -->',
        '### mlx-fuse-action: fused-model',
        '',
        '**Over the size budget: the check fails**',
        '',
        '| Output | Size | vs main&#64;1aaaaaa | Budget | Of budget | Status |',
        '|---|---|---|---|---|---|',
        '| `mlx` | 1.53 GB (1.42 GiB) | +25.00 MB (+23.84 MiB), +1.7 % | 2.50 GB (mlx=2.5GB) | `██████░░░░ 61 %` | ✅ within budget |',
        '| `Q4_K_M` | 1.20 GB (1.12 GiB) | new output (+1.20 GB (+1.12 GiB)) | 1.00 GB (Q4&#95;K&#95;M=1GB) | `██████████ 120 % (over budget)` | ❌ over by 20% |',
        '| Q8&#95;0 | — | gone (was 2.00 GB (1.86 GiB)) | — | — | gone |',
        '',
        'Artifacts: [fused-model-mlx](https://github.com/octo/models/actions/runs/42/artifacts/9) (1.40 GB (1.30 GiB))',
        '',
        '[The job summary](https://github.com/octo/models/actions/runs/42) says why, and how each size was measured.',
        '',
        '<details><summary>Trend</summary>',
        '',
        '```mermaid',
        'xychart-beta',
        '  title "mlx (MB), last baselines of main and this run"',
        '  x-axis ["2aaaaaa", "1aaaaaa", "this run"]',
        '  y-axis "MB"',
        '  line [1400.00, 1500.00, 1525.00]',
        '```',
        '',
        '</details>',
        ''
      ].join('\n')
    )
  })

  it('without a baseline: no delta column and no trend', () => {
    const body = commentBody({
      report: reportWith(null, ''),
      artifactName: 'm',
      artifacts: [],
      runUrl: null
    })
    expect(body).toContain('**Fused and measured (no size budget set)**')
    expect(body).toContain('| Output | Size | Budget | Of budget | Status |')
    expect(body).toContain('| `mlx` | 1.53 GB (1.42 GiB) | — | — | no budget |')
    expect(body).not.toContain('mermaid')
    expect(body).not.toContain('Artifacts:')
  })

  it('keeps outside text as text: no markup, mention, line break, or end of the marker', () => {
    expect(mdText('a|b <img src=x> @octocat #1 [x](y) *b* `c`\nnext')).toBe(
      'a&#124;b &#60;img src=x&#62; &#64;octocat &#35;1 &#91;x&#93;(y) &#42;b&#42; &#96;c&#96; next'
    )
    expect(commentMarker('a --> b')).toBe('<!-- mlx-fuse-action comment: a%20--%3E%20b -->')
    expect(mdUrl('https://github.com/o/r/actions/runs/1/artifacts/2')).not.toBeNull()
    expect(mdUrl('javascript:alert(1)')).toBeNull()
    expect(mdUrl('https://x.test/a) [y](https://evil')).toBeNull()
    const body = commentBody({
      report: reportWith(null, 'mlx=2.5GB'),
      artifactName: '@team <b>',
      artifacts: [],
      runUrl: null
    })
    expect(body).toContain('### mlx-fuse-action: &#64;team &#60;b&#62;')
    expect(body).not.toMatch(/@team|<b>/)
  })

  it('stays under the size GitHub takes for a comment', () => {
    const many = Array.from({ length: 2000 }, (_, i) => output(`Q${i}`, 1000 + i))
    const report = {
      outputs: judge(many, []),
      onOverBudget: 'fail',
      deltas: null
    } as unknown as RunReport
    const body = commentBody({ report, artifactName: 'm', artifacts: [], runUrl: null })
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS + 100)
    expect(body).toMatch(/…\(cut at 60000 characters\)\n$/)
  })
})

describe("a failed run's body", () => {
  it("the marker, the failure's first line as text, the job's page", () => {
    const error = 'Unexpected error: Error: boom @octocat <b>\n    at run (main.js:1:1)'
    expect(failureBody('m', error, 'https://github.com/o/r/actions/runs/9')).toBe(
      [
        commentMarker('m'),
        '### mlx-fuse-action: m',
        '',
        '**❌ The run failed, so it reports no sizes:** Unexpected error: Error: boom &#64;octocat &#60;b&#62;',
        '',
        "[The job's log](https://github.com/o/r/actions/runs/9) has the details.",
        ''
      ].join('\n')
    )
    // No run page outside a runner, and a link that is not http(s) is never written.
    expect(failureBody('m', 'x.', null)).not.toContain("The job's log")
    expect(failureBody('m', 'x.', 'javascript:alert(1)')).not.toContain('javascript')
  })

  it('stays under the size GitHub takes for a comment', () => {
    const body = failureBody('m', `${'|'.repeat(20_000)}.`, null)
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS + 100)
    expect(body).toMatch(/…\(cut at 60000 characters\)\n$/)
  })
})
