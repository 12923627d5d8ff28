/** The artifact rows of the job summary and the artifact step outputs. */
import * as core from '@actions/core'
import { Outputs } from '../core/constants.js'
import { html, htmlAttribute } from '../core/html.js'
import { formatSize } from '../core/size.js'
import type { ArtifactOutcome, PublishedArtifact } from './outcome.js'

/** `artifact-ids`, `artifact-digests`, `artifact-url`: JSON objects keyed by artifact name. */
export function setArtifactOutputs(outcome: ArtifactOutcome): void {
  const by = (pick: (a: PublishedArtifact) => unknown): string =>
    JSON.stringify(Object.fromEntries(outcome.artifacts.map(a => [a.name, pick(a)])))
  core.setOutput(
    Outputs.ArtifactIds,
    by(a => a.id)
  )
  core.setOutput(
    Outputs.ArtifactDigests,
    by(a => a.digest)
  )
  core.setOutput(
    Outputs.ArtifactUrl,
    by(a => a.url)
  )
}

/** Appends the artifacts table (after the size table): link, uploaded size, digest, time. */
export async function writeArtifactSummary(outcome: ArtifactOutcome): Promise<void> {
  const s = core.summary.addHeading('Artifacts', 3)
  if (outcome.status === 'disabled') s.addRaw('<p>Not uploaded (upload: false).</p>', true)
  if (outcome.status === 'ghes') {
    s.addRaw(
      '<p>⚠️ Not uploaded: GitHub Enterprise Server has no artifact service for this action; the outputs are on the runner at the paths above.</p>',
      true
    )
  }
  const rows = outcome.artifacts.map(a => [
    { data: `<code>${html(a.output)}</code>` },
    { data: `<a href="${htmlAttribute(a.url)}"><code>${html(a.name)}</code></a>` },
    { data: `${formatSize(a.bytes)}<br><sub>${a.bytes.toLocaleString('en-US')} bytes</sub>` },
    { data: `<code>${a.digest.slice(0, 'sha256:'.length + 12)}…</code>` },
    {
      data: `${a.seconds.toFixed(1)} s${a.seconds > 0 ? `, ${(a.bytes / a.seconds / 1e6).toFixed(1)} MB/s` : ''}`
    }
  ])
  for (const h of outcome.held) {
    rows.push([
      { data: `<code>${html(h.output)}</code>` },
      { data: `not uploaded: ${html(h.reason)}` },
      { data: '—' },
      { data: '—' },
      { data: '—' }
    ])
  }
  if (rows.length > 0) {
    const header = ['Output', 'Artifact', 'Uploaded', 'Digest', 'Time'].map(data => ({
      data,
      header: true
    }))
    s.addTable([header, ...rows])
  }
  if (outcome.superseded.length) {
    const earlier = outcome.superseded.map(a => `<code>${html(a.name)}</code> (id ${a.id})`)
    s.addRaw(
      `<p>Re-run: these uploads supersede the earlier attempt's ${earlier.join(', ')}, which stay listed in the run; downloads take the newest artifact of a name.</p>`,
      true
    )
  }
  if (outcome.error) s.addRaw(`<p><b>❌ Upload failed:</b> ${html(outcome.error)}</p>`, true)
  await s.write()
}
