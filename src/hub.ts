/**
 * A Hugging Face repo id as the base model: resolved to a commit, listed with every file's size,
 * checked against the free disk, and downloaded with @huggingface/hub into the cache layout the
 * Python side reads (`models--ORG--NAME/{blobs,snapshots/<commit>,refs}`), so that fuse gets a
 * local snapshot path and nothing is fetched twice.
 */
import * as core from '@actions/core'
import { downloadFileToCacheDir, HubApiError, listFiles, modelInfo } from '@huggingface/hub'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureFreeSpace } from './core/disk.js'
import { formatSize } from './core/size.js'
import { ActionError } from './core/types.js'
import * as log from './core/log.js'

/**
 * The files mlx_lm's own download takes (ml-explore/mlx-lm v0.31.3 and main at d78bf58e,
 * mlx_lm/utils.py `_download`, DEFAULT_ALLOW_PATTERNS; the same list since v0.28.3), matched as
 * huggingface_hub's snapshot_download matches allow_patterns: fnmatch on the file's path in the
 * repo, where `*` also crosses `/`.
 */
export const MLX_LM_ALLOW_PATTERNS: readonly string[] = [
  '*.json',
  'model*.safetensors',
  '*.py',
  'tokenizer.model',
  '*.tiktoken',
  'tiktoken.model',
  '*.txt',
  '*.jsonl',
  '*.jinja'
]

/** huggingface_hub's default endpoint and revision (constants.py ENDPOINT, DEFAULT_REVISION). */
export const DEFAULT_ENDPOINT = 'https://huggingface.co'
export const DEFAULT_REVISION = 'main'

const COMMIT = /^[0-9a-f]{40}$/

/** Where and how to reach the Hub, as huggingface_hub reads it from the environment. */
export interface HubSettings {
  endpoint: string
  /** HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
  cacheDir: string
  token: string | null
}

export function hubSettings(
  tokenInput: string | null,
  env: NodeJS.ProcessEnv = process.env
): HubSettings {
  const home =
    env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface')
  return {
    endpoint: (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: path.resolve(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(home, 'hub')),
    token: tokenInput || env.HF_TOKEN || null
  }
}

/** A base model fetched from the Hub: the local snapshot fuse reads, and where it came from. */
export interface HubBase {
  repo: string
  /** The revision asked for (default main). */
  revision: string
  /** The commit it resolved to; the snapshot folder's name. */
  commit: string
  endpoint: string
  /** `<cache>/models--ORG--NAME/snapshots/<commit>`: symbolic links into `../../blobs`. */
  snapshotDir: string
  files: { path: string; bytes: number }[]
  /** The snapshot's size, measured by the links' targets (the blobs), not the links. */
  bytes: number
  /** What this run downloaded (0 when the cache held every file). */
  downloadedBytes: number
  downloadedFiles: number
}

/** fnmatch as Python's: `*` any run of characters (also `/`), `?` one, `[...]` a class. */
export function fnmatch(name: string, pattern: string): boolean {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\')
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`
        i = end
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's').test(name)
}

export function mlxLmWants(file: string): boolean {
  return MLX_LM_ALLOW_PATTERNS.some(p => fnmatch(file, p))
}

/** `models--ORG--NAME`, the repo's folder in the cache (huggingface_hub repo_folder_name). */
export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, ['models', ...repo.split('/')].join('--'))
}

/** One sentence naming the fix for a failed Hub call. */
function hubError(error: unknown, repo: string, revision: string, s: HubSettings): Error {
  if (error instanceof ActionError) return error
  const where = s.endpoint === DEFAULT_ENDPOINT ? 'the Hugging Face Hub' : s.endpoint
  if (error instanceof HubApiError) {
    if (error.statusCode === 401) {
      return new ActionError(
        s.token
          ? `${where} refused the token for base-model "${repo}" (HTTP 401: invalid or expired); set hf-token (or HF_TOKEN) to a valid token with read access.`
          : `${where} refused base-model "${repo}" without a token (HTTP 401): it is private or gated, or the id is misspelled; set hf-token (or HF_TOKEN) to a token that can read it, or fix the id.`
      )
    }
    if (error.statusCode === 403) {
      return new ActionError(
        `${where} refused base-model "${repo}" (HTTP 403): it is gated and this token's account has not been granted access, or the token lacks read access; accept the model's terms on its Hub page, or use a token with read access in hf-token.`
      )
    }
    if (error.statusCode === 404) {
      return new ActionError(
        `${where} has no model "${repo}" at revision "${revision}" (HTTP 404); check the base-model id and the revision input.`
      )
    }
    return new ActionError(
      `${where} answered HTTP ${error.statusCode} for base-model "${repo}" (${oneLine(error.message)}); try again later, or download the model and point base-model at its folder.`
    )
  }
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  const detail =
    [cause?.code, cause?.message].filter(Boolean).join(': ') ||
    ((error as Error)?.message ?? String(error))
  return new ActionError(
    `Could not reach ${s.endpoint} to fetch base-model "${repo}" (${oneLine(String(detail))}); check the runner's network, proxy and HF_ENDPOINT, then run again (files already downloaded are kept).`
  )
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300)
}

/** A repo resolved and listed, before anything is downloaded. */
export interface HubPlan {
  repo: string
  revision: string
  commit: string
  settings: HubSettings
  /** The files mlx_lm would download, with the sizes the Hub lists. */
  listed: { path: string; bytes: number }[]
  /** The ones the cache does not hold yet. */
  missing: { path: string; bytes: number }[]
  snapshotDir: string
}

/**
 * Resolves `repo` at `revision` to a commit and lists the files mlx_lm would download, with
 * their sizes; nothing is downloaded. Cheap, so it runs before any other expensive check.
 */
export async function resolveHubBase(
  repo: string,
  revisionInput: string | null,
  s: HubSettings
): Promise<HubPlan> {
  const revision = revisionInput || DEFAULT_REVISION
  if (s.token && !s.token.startsWith('hf_')) {
    throw new ActionError(
      'Input hf-token (or HF_TOKEN) does not start with "hf_", so it is not a Hugging Face access token; copy a token from huggingface.co/settings/tokens.'
    )
  }
  let commit: string
  const listed: { path: string; bytes: number }[] = []
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], ...auth(s) })
    commit = String(info.sha ?? '')
    if (!COMMIT.test(commit)) {
      throw new ActionError(
        `${s.endpoint} did not name a commit for base-model "${repo}" at revision "${revision}"; check that HF_ENDPOINT points at a Hugging Face Hub.`
      )
    }
    for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...auth(s) })) {
      if (entry.type === 'file' && mlxLmWants(entry.path)) {
        listed.push({ path: entry.path, bytes: entry.lfs?.size ?? entry.size })
      }
    }
  } catch (error) {
    throw hubError(error, repo, revision, s)
  }
  listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  if (!listed.some(f => f.path === 'config.json')) {
    throw new ActionError(
      `Hugging Face repo "${repo}" (commit ${commit}) has no config.json at its top level; point base-model at an MLX or transformers model repo.`
    )
  }
  const snapshotDir = path.join(repoFolder(s.cacheDir, repo), 'snapshots', commit)
  const missing: { path: string; bytes: number }[] = []
  for (const file of listed) {
    const have = await fs.stat(path.join(snapshotDir, file.path)).catch(() => null)
    if (!have?.isFile() || have.size !== file.bytes) missing.push(file)
  }
  return { repo, revision, commit, settings: s, listed, missing, snapshotDir }
}

/**
 * Refuses when the missing files do not fit on the cache's disk, downloads them (size and
 * progress in a log group), records the revision's commit in refs/ and returns the snapshot,
 * measured by the links' targets.
 */
export async function fetchHubBase(plan: HubPlan): Promise<HubBase> {
  const { repo, commit, listed, missing, snapshotDir, settings: s } = plan
  const storage = repoFolder(s.cacheDir, repo)
  const total = sum(listed)
  const toFetch = sum(missing)
  const name = `${repo}@${commit.slice(0, 12)}`
  if (missing.length === 0) {
    log.info(
      `Base model ${name}: all ${listed.length} files (${formatSize(total)}) are already in ${s.cacheDir}.`
    )
  } else {
    await ensureFreeSpace(s.cacheDir, toFetch, `downloading base-model "${repo}"`)
    await core.group(
      `Downloading base-model ${name} from ${s.endpoint}: ${missing.length} of ${listed.length} files, ${formatSize(toFetch)}`,
      () => download(plan, toFetch)
    )
  }
  // huggingface_hub records a branch or tag's commit in refs/<revision>, so a later download
  // of the same revision by the Python side finds this snapshot.
  if (!COMMIT.test(plan.revision)) {
    const ref = path.join(storage, 'refs', plan.revision)
    await fs.mkdir(path.dirname(ref), { recursive: true })
    await fs.writeFile(ref, commit)
  }

  // The snapshot holds links into blobs/: measure their targets, and refuse a short file.
  const files: { path: string; bytes: number }[] = []
  for (const file of listed) {
    const full = path.join(snapshotDir, file.path)
    const st = await fs.stat(full).catch(() => null)
    if (!st?.isFile() || st.size !== file.bytes) {
      throw new ActionError(
        `The cached file ${full} of base-model "${repo}" is ${st?.isFile() ? `${st.size} bytes where the Hub lists ${file.bytes}` : 'missing or not a file'}; delete ${storage} and run again.`
      )
    }
    files.push({ path: file.path, bytes: st.size })
  }
  return {
    repo,
    revision: plan.revision,
    commit,
    endpoint: s.endpoint,
    snapshotDir,
    files,
    bytes: sum(files),
    downloadedBytes: toFetch,
    downloadedFiles: missing.length
  }
}

function auth(s: HubSettings): { hubUrl: string; accessToken?: string } {
  return { hubUrl: s.endpoint, ...(s.token ? { accessToken: s.token } : {}) }
}

async function download(plan: HubPlan, total: number): Promise<void> {
  const { repo, commit, missing: files, settings: s } = plan
  let done = 0
  // A multi-GB shard takes minutes: every 20 s, say how far its partial blob has come.
  const blobs = path.join(repoFolder(s.cacheDir, repo), 'blobs')
  const started = Date.now()
  const heartbeat = setInterval(() => {
    void partialBytes(blobs, started).then(n => {
      if (n > 0) log.info(`  ... ${formatSize(done + n)} of ${formatSize(total)}`)
    })
  }, 20_000)
  try {
    await downloadEach()
  } finally {
    clearInterval(heartbeat)
  }
  async function downloadEach(): Promise<void> {
    for (const [i, file] of files.entries()) {
      log.info(`[${i + 1}/${files.length}] ${file.path} (${formatSize(file.bytes)})`)
      try {
        // By the commit, not the branch: the snapshot folder is named after the revision asked
        // for, which with a branch would be each file's last commit (@huggingface/hub 2.17.5,
        // src/lib/download-file-to-cache-dir.ts, snapshotId).
        await downloadFileToCacheDir({
          repo,
          path: file.path,
          revision: commit,
          cacheDir: s.cacheDir,
          ...auth(s)
        })
      } catch (error) {
        throw hubError(error, repo, plan.revision, s)
      }
      done += file.bytes
      log.info(
        `  ${formatSize(done)} of ${formatSize(total)} done (${total ? Math.floor((done / total) * 100) : 100}%)`
      )
    }
  }
}

/** Bytes in the partial (`.incomplete`) blobs written since `since` (not an old run's leftovers). */
async function partialBytes(blobs: string, since: number): Promise<number> {
  const names = await fs.readdir(blobs).catch(() => [] as string[])
  let n = 0
  for (const name of names.filter(x => x.endsWith('.incomplete'))) {
    const st = await fs.stat(path.join(blobs, name)).catch(() => null)
    if (st && st.mtimeMs >= since) n += st.size
  }
  return n
}

function sum(files: { bytes: number }[]): number {
  return files.reduce((n, f) => n + f.bytes, 0)
}
