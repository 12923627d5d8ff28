/** The artifact rows of the job summary and the artifact outputs (src/artifacts/report.ts). */
import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import { setArtifactOutputs, writeArtifactSummary } from '../../src/artifacts/report.js'
import type { ArtifactOutcome } from '../../src/artifacts/outcome.js'
import { parseOutputFile } from '../fixtures/action.js'
import { useRunnerFiles } from '../fixtures/runner-files.js'

useRunnerFiles('artifact-report')

beforeEach(() => {
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})

const uploaded: ArtifactOutcome = {
  status: 'uploaded',
  artifacts: [
    {
      name: 'm<1>-Q4_K_M.gguf',
      output: 'Q4_K_M',
      id: 77,
      digest: `sha256:${'ab'.repeat(32)}`,
      url: 'https://github.com/o/r/actions/runs/9/artifacts/77',
      bytes: 2_000_000_000,
      seconds: 20
    }
  ],
  held: [{ output: 'Q8_0', reason: 'over its size budget (set upload-over-budget: true)' }],
  removed: [],
  superseded: []
}

describe('writeArtifactSummary', () => {
  it('links each artifact with its size, digest prefix and throughput, and lists what was held', async () => {
    await writeArtifactSummary(uploaded)
    const summary = await fs.readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8')
    expect(summary).toContain(
      '<a href="https://github.com/o/r/actions/runs/9/artifacts/77"><code>m&lt;1&gt;-Q4_K_M.gguf</code></a>'
    )
    expect(summary).toContain('2.00 GB (1.86 GiB)<br><sub>2,000,000,000 bytes</sub>')
    expect(summary).toContain(`<code>sha256:${'ab'.repeat(6)}…</code>`)
    expect(summary).toContain('20.0 s, 100.0 MB/s')
    expect(summary).toContain(
      '<td><code>Q8_0</code></td><td>not uploaded: over its size budget (set upload-over-budget: true)</td>'
    )
  })

  it('says why nothing was uploaded on GHES, with upload: false, and after an error', async () => {
    await writeArtifactSummary({
      status: 'ghes',
      artifacts: [],
      held: [],
      removed: [],
      superseded: []
    })
    await writeArtifactSummary({
      status: 'disabled',
      artifacts: [],
      held: [],
      removed: [],
      superseded: []
    })
    await writeArtifactSummary({
      status: 'failed',
      artifacts: [],
      held: [],
      removed: [],
      superseded: [],
      error: 'x <y> failed'
    })
    const summary = await fs.readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8')
    expect(summary).toContain('Not uploaded: GitHub Enterprise Server')
    expect(summary).toContain('Not uploaded (upload: false).')
    expect(summary).toContain('<b>❌ Upload failed:</b> x &lt;y&gt; failed')
    expect(summary).not.toContain('<table>')
  })
})

describe('setArtifactOutputs', () => {
  it('sets ids, digests and URLs as JSON keyed by artifact name', async () => {
    setArtifactOutputs(uploaded)
    const outputs = parseOutputFile(await fs.readFile(process.env.GITHUB_OUTPUT!, 'utf8'))
    const name = 'm<1>-Q4_K_M.gguf'
    expect(JSON.parse(outputs['artifact-ids'])).toEqual({ [name]: 77 })
    expect(JSON.parse(outputs['artifact-digests'])).toEqual({ [name]: `sha256:${'ab'.repeat(32)}` })
    expect(JSON.parse(outputs['artifact-url'])).toEqual({
      [name]: 'https://github.com/o/r/actions/runs/9/artifacts/77'
    })
  })
})
