/** The base model's license, as its own model card's front matter (or config) names it. */
import { readFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * The `license:` of the base's README.md front matter (the Hub's model card metadata,
 * huggingface_hub v0.30.0 src/huggingface_hub/repocard_data.py `ModelCardData.license`), else a
 * `license` string in config.json; null when neither names one, or the value is not an id.
 */
export async function baseLicense(dir: string): Promise<string | null> {
  const card = await readFile(path.join(dir, 'README.md'), 'utf8').catch(() => '')
  const front = /^---\r?\n([^]*?)\r?\n---/.exec(card)?.[1] ?? ''
  const fromCard = /^license:[ \t]*["']?([^"'\r\n#]+?)["']?[ \t]*$/m.exec(front)?.[1]
  if (fromCard && isLicenseId(fromCard)) return fromCard
  const config = await readFile(path.join(dir, 'config.json'), 'utf8').catch(() => '{}')
  let license: unknown = null
  try {
    license = (JSON.parse(config) as { license?: unknown }).license
  } catch {
    return null
  }
  return typeof license === 'string' && isLicenseId(license) ? license : null
}

/** Hub license ids: `apache-2.0`, `llama3.2`, `other`, `cc-by-nc-4.0`… */
function isLicenseId(text: string): boolean {
  return /^[\w.+-]{1,64}$/.test(text)
}
