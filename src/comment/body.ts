/**
 * The pull-request comment's body, Markdown: the headline, a row per output (size, change against
 * the baseline, budget, bar, verdict), the artifacts' links, and the trend of the last baselines
 * as Mermaid charts (a pull-request comment renders Mermaid; the job summary keeps its table).
 * A hidden marker names the artifact, so the comment of each artifact name is found and updated
 * in place. Every piece of outside text (names, budget texts, branch labels, URLs) goes through
 * {@link mdText} or {@link mdUrl}: no markup, no mention, no line break can come from it.
 */
import { baselineView, deltaColumn, deltaHeader } from '../baseline/deltas.js'
import { withinBudget } from '../budget/index.js'
import { redact } from '../core/redact.js'
import { formatDecimal, formatSize } from '../core/size.js'
import type { PublishedArtifact } from '../artifacts/outcome.js'
import { verdictBar } from '../report/bar.js'
import { statusCell } from '../report/format.js'
import type { RunReport } from '../report/run-report.js'

/** GitHub refuses a comment over 65,536 characters; the body stays well under. */
export const MAX_BODY_CHARS = 60_000

/** The hidden line that marks this artifact name's comment (the name percent-encoded: no `-->`). */
export function commentMarker(artifactName: string): string {
  return `<!-- mlx-fuse-action comment: ${encodeURIComponent(artifactName)} -->`
}

/**
 * Outside text as Markdown text inside a table cell or a line: secrets redacted, every character
 * Markdown or HTML could read as syntax there (escapes, code, emphasis, links, the table's `|`,
 * tags, entities, `@` mentions, `#` references) written as a numeric character reference, line
 * endings as spaces. `(`, `+`, `-` and `.` only mean something at a line's start or after `]`,
 * which this text never is.
 */
export function mdText(text: string): string {
  return redact(text)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]<>#|~@&!]/g, ch => `&#${ch.charCodeAt(0)};`)
}

/** A URL for a Markdown link: only http(s), and no character that could end the link. */
export function mdUrl(url: string): string | null {
  if (!/^https?:\/\/[^\s()<>[\]"'`]+$/.test(url)) return null
  return url
}

/** What the comment needs beside the report. */
export interface CommentInput {
  report: RunReport
  artifactName: string
  artifacts: readonly PublishedArtifact[]
  /** The job run's page (`<server>/<repo>/actions/runs/<id>`), or null outside a runner. */
  runUrl: string | null
}

export function commentBody(input: CommentInput): string {
  const { report, artifactName } = input
  const lines = [
    commentMarker(artifactName),
    `### mlx-fuse-action: ${mdText(artifactName)}`,
    '',
    `**${headline(report)}**`,
    '',
    ...table(report),
    ...artifactLines(input),
    ...trend(report)
  ]
  return capped(`${lines.join('\n').trimEnd()}\n`)
}

function capped(body: string): string {
  if (body.length <= MAX_BODY_CHARS) return body
  return `${body.slice(0, MAX_BODY_CHARS)}\n\n…(cut at ${MAX_BODY_CHARS} characters)\n`
}

/**
 * The body of a run that failed before it could report: the same marker (so it replaces this
 * artifact name's earlier comment, whose figures no longer hold), the failure in one sentence, and
 * the job's page. `error` is the failure manifest's error; only its first line is shown (an
 * unexpected error's stack stays in the job's log).
 */
export function failureBody(artifactName: string, error: string, runUrl: string | null): string {
  const sentence = error.split(/\r?\n/, 1)[0].trim()
  const run = runUrl ? mdUrl(runUrl) : null
  const lines = [
    commentMarker(artifactName),
    `### mlx-fuse-action: ${mdText(artifactName)}`,
    '',
    // Outside text never starts a line: the fixed words before it keep it from being a list.
    `**❌ The run failed, so it reports no sizes:** ${mdText(sentence)}`,
    ...(run ? ['', `[The job's log](${run}) has the details.`] : [])
  ]
  return capped(`${lines.join('\n')}\n`)
}

function headline(report: RunReport): string {
  const anyBudget = report.outputs.some(o => o.verdict.status !== 'no-budget')
  if (!anyBudget) return 'Fused and measured (no size budget set)'
  if (withinBudget(report.outputs)) return 'Every output is within its size budget'
  return report.onOverBudget === 'fail'
    ? 'Over the size budget: the check fails'
    : 'Over the size budget (warn only)'
}

function table(report: RunReport): string[] {
  const vs = report.deltas ? deltaColumn(report.deltas) : null
  const header = [
    'Output',
    'Size',
    ...(vs && report.deltas ? [mdText(deltaHeader(report.deltas))] : []),
    'Budget',
    'Of budget',
    'Status'
  ]
  const rows = report.outputs.map(o => {
    const v = o.verdict
    const bar = verdictBar(o.bytes, v)
    return [
      `\`${o.name.replace(/[^A-Za-z0-9_.-]/g, '?')}\``,
      formatSize(o.bytes),
      ...(vs ? [mdText(vs.cell(o.name))] : []),
      v.budget ? `${formatDecimal(v.budget.bytes)} (${mdText(v.budget.text)})` : '—',
      bar ? `\`${bar}\`` : '—',
      mdText(statusCell(v, report.onOverBudget))
    ]
  })
  const gone = (vs?.gone ?? []).map(g => [mdText(g.name), '—', mdText(g.cell), '—', '—', 'gone'])
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...[...rows, ...gone].map(r => `| ${r.join(' | ')} |`),
    ''
  ]
}

function artifactLines(input: CommentInput): string[] {
  const links = input.artifacts.flatMap(a => {
    const url = mdUrl(a.url)
    return url ? [`[${mdText(a.name)}](${url}) (${formatSize(a.bytes)})`] : []
  })
  const run = input.runUrl ? mdUrl(input.runUrl) : null
  const out: string[] = []
  if (links.length > 0) out.push(`Artifacts: ${links.join(', ')}`, '')
  if (run) out.push(`[The job summary](${run}) says why, and how each size was measured.`, '')
  return out
}

/**
 * One Mermaid line chart per output: its size in MB at each of the last baselines (short commit
 * ids, oldest first), then this run. No chart without a baseline history.
 */
function trend(report: RunReport): string[] {
  if (!report.deltas || report.deltas.history.length === 0) return []
  const view = baselineView(report.deltas)
  const labels = [...view.history.map(p => p.sha.slice(0, 7).replace(/[^0-9a-f]/g, '')), 'this run']
  const charts = report.outputs.flatMap(o => {
    const values = [...view.history.map(p => p.bytes[o.name] ?? null), o.bytes]
    if (values.slice(0, -1).every(v => v === null)) return []
    const name = o.name.replace(/[^A-Za-z0-9_.-]/g, '?')
    // A missing point reads as 0: Mermaid's xychart has no gaps.
    const mb = values.map(v => ((v ?? 0) / 1e6).toFixed(2))
    return [
      '```mermaid',
      'xychart-beta',
      `  title "${name} (MB), last baselines of ${view.branch.replace(/[^A-Za-z0-9_./-]/g, '?')} and this run"`,
      `  x-axis [${labels.map(l => `"${l}"`).join(', ')}]`,
      '  y-axis "MB"',
      `  line [${mb.join(', ')}]`,
      '```'
    ]
  })
  if (charts.length === 0) return []
  return ['<details><summary>Trend</summary>', '', ...charts, '', '</details>', '']
}
