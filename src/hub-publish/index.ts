/**
 * The Hub step of run(), after the artifacts: the run's model card (written beside the model folder
 * before the artifacts, card-file.ts) as README.md, one commit per repository (hub-repo; hub-repo-gguf for the GGUF files when set), never an
 * output over its budget unless upload-over-budget. A failure fails the step with its one sentence
 * after the summary rows are written; it is not thrown, so the size report above it stays.
 * Loaded with import() only when hub-repo is set: the Hub client stays off the start-up path.
 */
import * as core from '@actions/core'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { sha256File } from '../core/checksum.js'
import { Inputs, Outputs } from '../core/constants.js'
import { redact } from '../core/redact.js'
import { formatSize } from '../core/size.js'
import type { Config, HubPublishConfig } from '../core/config.js'
import { html, htmlAttribute } from '../core/html.js'
import type { ManifestOutputV1, ManifestV1 } from '../report/index.js'
import { cardContext, runCardPath, sentOutputs, writeCard } from './card-file.js'
import { commitFiles, hubError, type HubClient, type HubCommit, type HubFile } from './commit.js'

export interface HubPublishRequest {
  config: HubPublishConfig
  manifest: ManifestV1
  adapterPath: string
  /** The base model's folder (a local base, or the Hub snapshot), for its license. */
  baseDir: string | null
  uploadOverBudget: boolean
  /** The run's card is already written (writeRunCard, before the artifacts): it is sent as is. */
  cardWritten: boolean
  client: HubClient
}

export interface HubPublishReport {
  status: 'published' | 'failed'
  /** `<output-dir>.README.md`, the card beside the model folder. */
  card: string
  commits: HubCommit[]
  held: Array<{ output: string; reason: string }>
  error?: string
}

/** The Hub step as run() calls it: the manifest just written, the Hub settings as for the base. */
export async function publishHubStep(
  config: Config,
  baseDir: string | null
): Promise<HubPublishReport | null> {
  if (!config.hub) return null
  const { hubSettings } = await import('../hub.js')
  const settings = await hubSettings(config.hfToken)
  const manifest = JSON.parse(await readFile(config.manifestPath, 'utf8')) as ManifestV1
  const report = await publishToHub({
    config: config.hub,
    manifest,
    adapterPath: config.adapterPath,
    baseDir,
    uploadOverBudget: config.upload.uploadOverBudget,
    cardWritten: true,
    client: { endpoint: settings.endpoint, token: settings.token }
  })
  await reportHub(report)
  return report
}

export async function publishToHub(req: HubPublishRequest): Promise<HubPublishReport> {
  const { config, manifest } = req
  const { sent, held: over } = sentOutputs(manifest, req.uploadOverBudget)
  const held = over.map(o => ({
    output: o.name,
    reason: 'over its size budget (upload-over-budget: false)'
  }))
  const groups: Array<{ repo: string; input: string; outputs: ManifestOutputV1[] }> =
    config.ggufRepo
      ? [
          { repo: config.repo, input: Inputs.HubRepo, outputs: sent.filter(o => o.kind === 'mlx') },
          {
            repo: config.ggufRepo,
            input: Inputs.HubRepoGguf,
            outputs: sent.filter(o => o.kind === 'gguf')
          }
        ]
      : [{ repo: config.repo, input: Inputs.HubRepo, outputs: sent }]

  const context = await cardContext(manifest, req.adapterPath, req.baseDir)
  const runUrl = context.runUrl
  const card = runCardPath(manifest.folders.outputDir)
  const report: HubPublishReport = { status: 'published', card, commits: [], held }
  try {
    for (const group of groups) {
      if (group.outputs.length === 0) continue
      // One repository: the run's card, as the artifacts carry it. Two: each its own card, in
      // files of their own, so the run's card keeps the bytes its checksum was taken of.
      const cardFile = config.ggufRepo
        ? `${manifest.folders.outputDir}.${group.outputs[0].kind}.README.md`
        : card
      if (config.ggufRepo || !req.cardWritten) await writeCard(cardFile, context, group.outputs)
      const files = [
        ...(await filesOf(group.outputs)),
        {
          path: 'README.md',
          source: cardFile,
          bytes: (await stat(cardFile)).size,
          sha256: (await sha256File(cardFile)).sha256
        }
      ]
      const target = {
        repo: group.repo,
        revision: config.revision,
        private: config.private,
        input: group.input
      }
      report.commits.push(
        await commitFiles(
          target,
          files,
          commitTitle(manifest),
          commitDescription(manifest, runUrl),
          req.client
        )
      )
    }
  } catch (error) {
    report.status = 'failed'
    report.error = hubError(
      {
        repo: config.repo,
        revision: config.revision,
        private: config.private,
        input: Inputs.HubRepo
      },
      error
    ).message
  }
  return report
}

/** The step's outputs and summary rows for the Hub; a failure fails the step after them. */
export async function reportHub(report: HubPublishReport): Promise<void> {
  // hub-repo's commit comes first (the GGUF repository's, when separate, after it).
  core.setOutput(Outputs.HubCommitUrl, report.commits[0]?.commitUrl ?? '')
  const s = core.summary.addHeading('Hugging Face Hub', 3)
  const rows = report.commits.map(c => [
    { data: `<code>${html(c.repo)}</code>@<code>${html(c.revision)}</code>` },
    {
      data: c.commitUrl
        ? `<a href="${htmlAttribute(c.commitUrl)}">${c.unchanged ? 'unchanged' : 'commit'}</a>`
        : '—'
    },
    { data: `${c.files} files, ${formatSize(c.bytes)}` }
  ])
  if (rows.length > 0) {
    s.addTable([
      [
        { data: 'Repository', header: true },
        { data: 'Commit', header: true },
        { data: 'Files', header: true }
      ],
      ...rows
    ] as never)
  }
  for (const h of report.held)
    s.addRaw(`<p>Not sent: <code>${html(h.output)}</code>, ${html(h.reason)}.</p>`, true)
  s.addRaw(`<p>Model card: <code>${html(report.card)}</code></p>`, true)
  if (report.error) s.addRaw(`<p>❌ ${html(report.error)}</p>`, true)
  await s.write()
  if (report.error) core.setFailed(redact(report.error))
}

/** Each output's files at their place in the repository: the MLX folder's files at its root. */
async function filesOf(outputs: readonly ManifestOutputV1[]): Promise<HubFile[]> {
  const files: HubFile[] = []
  for (const o of outputs) {
    if (o.kind === 'mlx') {
      for (const [file, sha256] of Object.entries(o.sha256Files ?? {}).sort()) {
        // mlx-lm writes its own README.md into the folder; the card takes its place.
        if (file === 'README.md') continue
        const source = path.join(o.path, file)
        files.push({ path: file, source, bytes: (await stat(source)).size, sha256 })
      }
    } else if (o.shards) {
      for (const s of o.shards)
        files.push({
          path: path.basename(s.path),
          source: s.path,
          bytes: s.bytes,
          sha256: s.sha256
        })
    } else {
      files.push({
        path: path.basename(o.path),
        source: o.path,
        bytes: o.bytes,
        sha256: o.sha256 ?? ''
      })
    }
  }
  return files
}

function commitTitle(m: ManifestV1): string {
  const run = process.env.GITHUB_RUN_ID
  const where = run ? ` from workflow run ${run}` : ''
  const commit = m.runCommit ? ` (${m.runCommit.slice(0, 12)})` : ''
  return `Upload ${path.basename(m.folders.outputDir)}${where}${commit} with mlx-fuse-action`
}

function commitDescription(m: ManifestV1, runUrl: string | null): string {
  return [
    runUrl ? `Workflow run: ${runUrl}` : null,
    m.runCommit ? `Source commit: ${m.runCommit}` : null,
    `Outputs: ${m.outputs.map(o => `${o.name} ${formatSize(o.bytes)}`).join(', ')}`
  ]
    .filter(Boolean)
    .join('\n')
}
