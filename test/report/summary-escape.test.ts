/**
 * Issue 6: a base folder named `<img src=x onerror=alert(1)>` reached the job summary as raw HTML
 * through a diagnosis. Every user-, file- or tool-derived text is escaped, in one place.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { judge, parseBudgets } from '../../src/budget/index.js'
import { html } from '../../src/core/html.js'
import { writeFailureSummary, writeSummary, type RunReport } from '../../src/report/index.js'
import type { MeasuredOutput } from '../../src/core/types.js'

const EVIL = '<img src=x onerror=alert(1)>'
let summaryFile: string

beforeAll(async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'summary-escape-'))
  summaryFile = path.join(dir, 'summary.md')
  process.env.GITHUB_STEP_SUMMARY = summaryFile
})

async function summaryOf(write: () => Promise<void>): Promise<string> {
  await fs.writeFile(summaryFile, '')
  core.summary.emptyBuffer()
  await write()
  return fs.readFile(summaryFile, 'utf8')
}

describe('the job summary', () => {
  it('escapes every piece of user- or file-derived text', async () => {
    const base = `/w/${EVIL}`
    const output: MeasuredOutput = {
      name: 'mlx',
      kind: 'mlx',
      path: `${base}-fused`,
      bytes: 5000,
      files: 2,
      format: `MLX safetensors, ${EVIL}`,
      parameters: 1000,
      bitsPerWeight: 40,
      bytesByDtype: { [EVIL]: 10, BF16: 20 }
    }
    const budgets = parseBudgets('mlx=1kB', new Set())
    const report: RunReport = {
      baseModel: base,
      baseBytes: 4000,
      adapterPath: `${base}/adapters`,
      mlxLm: { version: `0.32.2${EVIL}`, python: `${base}/python`, source: `venv${EVIL}` },
      llamaCpp: { version: `b1${EVIL}`, commit: `<b>0123456789abcdef`, dir: base },
      commands: [{ what: `Fuse${EVIL}`, argv: ['python', '--model', base] }],
      outputs: judge([output], [{ ...budgets[0], text: `mlx=1kB${EVIL}` }]),
      diagnoses: [
        { level: 'warning', title: `Title ${EVIL}`, text: `The base ${base} was never quantized` }
      ],
      notes: [`note ${EVIL}`],
      onOverBudget: 'fail',
      manifestPath: `${base}.manifest.json`,
      peakDiskBytes: 0
    }
    const summary = await summaryOf(() => writeSummary(report))
    expect(summary).not.toContain('<img')
    expect(summary).not.toContain('<b>0123')
    // Each piece is there, escaped: 15 places in all.
    expect(summary.split('&lt;img src=x onerror=alert(1)&gt;').length - 1).toBe(15)
    expect(summary).toContain('The base /w/&lt;img src=x onerror=alert(1)&gt; was never quantized')
  })

  it('renders a note as text with code spans and list lines only, a budget text inside escaped', async () => {
    const report = {
      baseModel: 'b',
      baseBytes: null,
      adapterPath: 'a',
      mlxLm: { version: '1', python: 'p', source: 'input' },
      llamaCpp: null,
      commands: [],
      outputs: [],
      diagnoses: [],
      notes: [
        `gguf: auto chose \`Q4_K_M\`, the best type that fits gguf=1GB${EVIL}. Candidates:\n\`Q8_0\`: predicted 2 B\n\`Q4_K_M\` ${EVIL}`
      ],
      onOverBudget: 'fail' as const,
      manifestPath: 'm',
      peakDiskBytes: 0
    }
    const summary = await summaryOf(() => writeSummary(report))
    expect(summary).toContain(
      '<p>gguf: auto chose <code>Q4_K_M</code>, the best type that fits gguf=1GB&lt;img src=x onerror=alert(1)&gt;. Candidates:<ul><li><code>Q8_0</code>: predicted 2 B</li><li><code>Q4_K_M</code> &lt;img src=x onerror=alert(1)&gt;</li></ul></p>'
    )
    expect(summary).not.toContain('<img')
  })

  it('escapes the failure sentence', async () => {
    const summary = await summaryOf(() => writeFailureSummary(`Cannot read /w/${EVIL}`))
    expect(summary).not.toContain('<img')
    expect(summary).toContain('Cannot read /w/&lt;img')
  })

  it('escapes the three characters that make markup in text content', () => {
    expect(html(`"'&<>`)).toBe(`"'&amp;&lt;&gt;`)
  })
})

describe('issue 14: no text can end the summary HTML block and start Markdown', () => {
  // GitHub renders the summary as Markdown: an HTML block (<p>, <table>) ends at a blank line,
  // and what follows is Markdown again, so a blank line in a text gave a live image or heading.
  const MARKDOWN = 'true\n\n![tracker](https://evil.example/pixel.png)\n\n# Forged heading'

  it('escapes every line break, so html() output never holds one', () => {
    expect(html(`a\nb\r\nc\rd`)).toBe('a&#10;b&#13;&#10;c&#13;d')
    expect(html(MARKDOWN)).not.toMatch(/[\r\n]/)
  })

  it('keeps a failure sentence quoting an input on one line of HTML', async () => {
    const summary = await summaryOf(() =>
      writeFailureSummary(`Input dequantize is "${MARKDOWN}"; use true or false.`)
    )
    expect(summary).not.toMatch(/\n\n!\[tracker\]/)
    expect(summary).not.toMatch(/^# Forged heading/m)
    expect(summary).toContain('&#10;&#10;![tracker](https://evil.example/pixel.png)')
  })
})
