/**
 * The run's model card on disk: written beside the model folder as `<output-dir>.README.md` once
 * the manifest is written and before anything is published, so the artifacts (the checksums
 * artifact, and from it the release) and the Hub all carry the same bytes. No Hub client here:
 * the upload step loads this module without hub-repo set.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { sha256File } from '../core/checksum.js'
import { writeText } from '../core/download.js'
import { exists } from '../core/folders.js'
import type { ManifestOutputV1, ManifestV1 } from '../report/index.js'
import { modelCard } from './card.js'
import { baseLicense } from './license.js'

/** What a card says besides the manifest: the adapters' checksums, the base's license, the run. */
export interface CardContext {
  manifest: ManifestV1
  license: string | null
  adapterSums: Record<string, string>
  runUrl: string | null
}

/** `<output-dir>.README.md`: mlx-lm writes its own README.md inside the folder. */
export function runCardPath(outputDir: string): string {
  return `${outputDir}.README.md`
}

/** The outputs that are published: one over its budget only with upload-over-budget. */
export function sentOutputs(
  manifest: ManifestV1,
  uploadOverBudget: boolean
): { sent: ManifestOutputV1[]; held: ManifestOutputV1[] } {
  const held = manifest.outputs.filter(o => o.status === 'over' && !uploadOverBudget)
  return { sent: manifest.outputs.filter(o => !held.includes(o)), held }
}

export async function cardContext(
  manifest: ManifestV1,
  adapterPath: string,
  baseDir: string | null
): Promise<CardContext> {
  return {
    manifest,
    license: baseDir ? await baseLicense(baseDir) : null,
    adapterSums: await adapterChecksums(adapterPath),
    runUrl: workflowRunUrl()
  }
}

/** Writes the card of `outputs` to `file`; returns its text. */
export async function writeCard(
  file: string,
  context: CardContext,
  outputs: readonly ManifestOutputV1[]
): Promise<string> {
  const text = modelCard({ ...context, outputs })
  await writeText(file, text)
  return text
}

/**
 * Writes the run's card, of every published output, from the manifest just written, and returns
 * its path. The action owns this file and writes it over on every run, as it does the manifest.
 */
export async function writeRunCard(req: {
  manifestPath: string
  adapterPath: string
  baseDir: string | null
  uploadOverBudget: boolean
}): Promise<string> {
  const manifest = JSON.parse(await readFile(req.manifestPath, 'utf8')) as ManifestV1
  const context = await cardContext(manifest, req.adapterPath, req.baseDir)
  const file = runCardPath(manifest.folders.outputDir)
  await writeCard(file, context, sentOutputs(manifest, req.uploadOverBudget).sent)
  return file
}

async function adapterChecksums(dir: string): Promise<Record<string, string>> {
  const sums: Record<string, string> = {}
  for (const name of ['adapter_config.json', 'adapters.safetensors']) {
    const file = path.join(dir, name)
    if (await exists(file)) sums[name] = (await sha256File(file)).sha256
  }
  return sums
}

/** `<server>/<repository>/actions/runs/<id>`, or null outside GitHub Actions. */
export function workflowRunUrl(env: NodeJS.ProcessEnv = process.env): string | null {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = env
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : null
}
