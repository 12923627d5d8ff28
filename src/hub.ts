/**
 * A Hugging Face repo id as the base model: resolved to a commit and listed with every file's size
 * (@huggingface/hub), checked against the free disk, and downloaded into the cache layout the
 * Python side reads (`models--ORG--NAME/{blobs,snapshots/<commit>,refs}`), so that fuse gets a
 * local snapshot path and nothing is fetched twice. The file bytes are fetched by
 * src/core/download.ts, not by the client (which has no resume): a cut download resumes from its
 * partial blob.
 */
import * as core from '@actions/core'
import { HubApiError, listFiles, modelInfo } from '@huggingface/hub'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureFreeSpace, type FreeBytes } from './core/disk.js'
import {
  download as downloadFile,
  DownloadCutError,
  DownloadSizeError,
  HttpStatusError,
  networkCause,
  partialPath,
  placeLink,
  writeText
} from './core/download.js'
import { realish } from './core/folders.js'
import { isRefName } from './core/input-values.js'
import { addSecret, redact } from './core/redact.js'
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
  /** Input hf-token, else HF_TOKEN, else the file `hf auth login` wrote; any form (custom endpoints). */
  token: string | null
  /** HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE): the cached snapshot only, no request. */
  offline: boolean
  /** The first retry's delay after a failed download; each further retry doubles it. */
  retryDelayMs: number
}

/** Tries in a row without a new byte before a download is given up. */
export const DOWNLOAD_ATTEMPTS = 5

/**
 * The settings as huggingface_hub reads them (huggingface/huggingface_hub at 03333b68,
 * src/huggingface_hub/constants.py: HF_HOME, HF_HUB_CACHE, HF_TOKEN_PATH, each through
 * os.path.expandvars(os.path.expanduser(...)); HF_HUB_OFFLINE by `_is_true`; and at 08060680,
 * src/huggingface_hub/utils/_auth.py: get_token reads HF_TOKEN, then HUGGING_FACE_HUB_TOKEN,
 * then the file HF_TOKEN_PATH, each cleaned by `_clean_token`). An empty variable counts as unset.
 */
export async function hubSettings(
  tokenInput: string | null,
  env: NodeJS.ProcessEnv = process.env
): Promise<HubSettings> {
  const home = expandPath(
    env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(homeOf(env), '.cache'), 'huggingface'),
    env
  )
  const cacheDir = expandPath(
    env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(home, 'hub'),
    env
  )
  const token =
    cleanToken(tokenInput) ??
    cleanToken(env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN) ??
    (await tokenFile(expandPath(env.HF_TOKEN_PATH || path.join(home, 'token'), env)))
  addSecret(token)
  return {
    endpoint: checkEndpoint((env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '')),
    cacheDir: path.resolve(cacheDir),
    token,
    offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
    retryDelayMs: 2000
  }
}

/** huggingface_hub constants.py `_is_true`. */
function isTrue(value: string | undefined): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((value ?? '').toUpperCase())
}

/** `_clean_token`: line breaks removed, spaces trimmed, empty is none. */
function cleanToken(token: string | null | undefined): string | null {
  return token?.replace(/[\r\n]/g, '').trim() || null
}

async function tokenFile(file: string): Promise<string | null> {
  try {
    return cleanToken(await fs.readFile(file, 'utf8'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    throw new ActionError({
      problem: `Could not read the Hugging Face token file "${file}" (HF_TOKEN_PATH, else HF_HOME/token) (${code ?? String(error)})`,
      fix: `fix its permissions, or give the token in hf-token or HF_TOKEN`
    })
  }
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir()
}

/**
 * Python's os.path.expandvars(os.path.expanduser(p)) on POSIX: a leading `~` or `~/` is HOME
 * (`~user` only for this user; another user's stays as written), then `$NAME` and `${NAME}` are
 * replaced by set variables, unset ones kept as written.
 */
export function expandPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = p
  const user = /^~([^/]*)/.exec(out)
  if (user && (user[1] === '' || user[1] === os.userInfo().username)) {
    const home = (user[1] === '' ? homeOf(env) : os.homedir()).replace(/\/+$/, '')
    out = home + out.slice(user[0].length) || '/'
  }
  return out.replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    const key = name.startsWith('{') ? name.slice(1, -1) : name
    return env[key] ?? whole
  })
}

/** HF_ENDPOINT must be a URL without credentials (fetch refuses them, and they would be printed). */
function checkEndpoint(endpoint: string): string {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new ActionError({
      problem: `HF_ENDPOINT "${redact(endpoint)}" is not a URL`,
      fix: `set it to the Hub's address, such as ${DEFAULT_ENDPOINT}, or unset it`
    })
  }
  if (url.username || url.password) {
    throw new ActionError({
      problem: `HF_ENDPOINT "${redact(endpoint)}" holds a user name or password, which this action does not send`,
      fix: `remove them from HF_ENDPOINT, and give the Hub token in hf-token or HF_TOKEN`
    })
  }
  return endpoint
}

/**
 * Refuses a Hugging Face cache inside an output folder: the action empties and replaces those,
 * so the snapshot fuse reads would be deleted under it.
 */
export async function checkCacheOutside(
  s: HubSettings,
  outputs: ReadonlyArray<readonly [string, string | null]>
): Promise<void> {
  const cache = await realish(s.cacheDir)
  for (const [name, dir] of outputs) {
    if (!dir) continue
    const rel = path.relative(await realish(dir), cache)
    if (rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel))) {
      throw new ActionError({
        problem: `The Hugging Face cache "${s.cacheDir}" (HF_HUB_CACHE, else HF_HOME/hub) lies inside ${name} "${dir}", which the action empties and replaces`,
        fix: `set HF_HUB_CACHE or HF_HOME to a folder outside output-dir and gguf-dir`
      })
    }
  }
}

/**
 * A revision is joined into the cache path (refs/<revision>), so it must be a git ref name
 * (isRefName, git check-ref-format's rules).
 */
export function checkRevision(revision: string): void {
  if (!isRefName(revision)) {
    throw new ActionError({
      problem: `Input revision "${log.logSafe(revision)}" is not a valid git branch, tag or commit name (git check-ref-format)`,
      fix: `give a branch, a tag or a commit id`
    })
  }
}

/**
 * huggingface_hub's `_validate_relative_filename` (src/huggingface_hub/_local_folder.py, ported
 * by @huggingface/hub 2.17.5 src/utils/validateRelativeFilename.ts): a repo file name is joined
 * onto the cache, so `..`, an absolute path or a drive letter could write anywhere.
 */
function escapesFolder(file: string): boolean {
  const parts = file.replace(/\\/g, '/').split('/')
  return (
    parts.includes('..') ||
    file.startsWith('/') ||
    file.startsWith('\\') ||
    parts.some(p => /^[a-zA-Z]:/.test(p))
  )
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
  const status =
    error instanceof HubApiError
      ? { code: error.statusCode, detail: error.message }
      : error instanceof HttpStatusError
        ? { code: error.status, detail: error.body }
        : null
  if (status) {
    if (status.code === 401) {
      return new ActionError(
        s.token
          ? {
              problem: `${where} refused the token for base-model "${repo}" (HTTP 401: invalid or expired)`,
              fix: `set hf-token (or HF_TOKEN) to a valid token with read access`
            }
          : {
              problem: `${where} refused base-model "${repo}" without a token (HTTP 401): it is private or gated, or the id is misspelled`,
              fix: `set hf-token (or HF_TOKEN) to a token that can read it, or fix the id`
            }
      )
    }
    if (status.code === 403) {
      return new ActionError({
        problem: `${where} refused base-model "${repo}" (HTTP 403): it is gated and this token's account has not been granted access, or the token lacks read access`,
        fix: `accept the model's terms on its Hub page, or use a token with read access in hf-token`
      })
    }
    if (status.code === 404) {
      return new ActionError({
        problem: `${where} has no model "${repo}" at revision "${revision}" (HTTP 404)`,
        fix: `check the base-model id and the revision input`
      })
    }
    return new ActionError({
      problem: `${where} answered HTTP ${status.code} for base-model "${repo}" (${oneLine(status.detail)})`,
      fix: `try again later, or download the model and point base-model at its folder`
    })
  }
  const cause = error instanceof DownloadCutError ? error.cause : error
  return new ActionError({
    problem: `Could not reach ${s.endpoint} to fetch base-model "${repo}" (${oneLine(networkCause(cause))})`,
    fix: `check the runner's network, proxy and HF_ENDPOINT, then run again (files already downloaded are kept)`
  })
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300)
}

/** A file of the snapshot: its path in the repo, size, and blob name (LFS sha256, else git oid). */
export interface HubFile {
  path: string
  bytes: number
  /** The blob's name in `blobs/` (huggingface_hub names it after the ETag: X-Linked-Etag, else ETag). */
  etag: string | null
}

/** A repo resolved and listed, before anything is downloaded. */
export interface HubPlan {
  repo: string
  revision: string
  commit: string
  settings: HubSettings
  /** The files mlx_lm would download, with the sizes the Hub lists. */
  listed: HubFile[]
  /** The ones the cache does not hold yet. */
  missing: HubFile[]
  snapshotDir: string
}

/**
 * Resolves `repo` at `revision` to a commit and lists the files mlx_lm would download, with
 * their sizes; when some must be downloaded, asks for one byte of one file, so that a gated repo
 * the token cannot read (its listing is public) fails here. Nothing is downloaded. Cheap, so it
 * runs before any other expensive check. Offline, the cached snapshot is listed instead.
 */
export async function resolveHubBase(
  repo: string,
  revisionInput: string | null,
  s: HubSettings
): Promise<HubPlan> {
  const revision = revisionInput || DEFAULT_REVISION
  checkRevision(revision)
  if (s.offline) return resolveOffline(repo, revision, s)
  let commit: string
  const listed: HubFile[] = []
  const hub = { hubUrl: s.endpoint, fetch: hubFetch(s) }
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], ...hub })
    commit = String(info.sha ?? '')
    if (!COMMIT.test(commit)) {
      throw new ActionError({
        problem: `${s.endpoint} did not name a commit for base-model "${repo}" at revision "${revision}"`,
        fix: `check that HF_ENDPOINT points at a Hugging Face Hub`
      })
    }
    for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...hub })) {
      if (entry.type === 'file' && mlxLmWants(entry.path)) {
        const etag = entry.lfs?.oid ?? entry.oid ?? entry.xetHash ?? null
        listed.push({ path: entry.path, bytes: entry.lfs?.size ?? entry.size, etag })
      }
    }
  } catch (error) {
    throw hubError(error, repo, revision, s)
  }
  for (const file of listed) checkListedFile(file, repo, commit)
  listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  checkConfig(listed, repo, commit)
  const snapshotDir = path.join(repoFolder(s.cacheDir, repo), 'snapshots', commit)
  const missing: HubFile[] = []
  for (const file of listed) {
    const have = await fs.stat(path.join(snapshotDir, file.path)).catch(() => null)
    if (!have?.isFile() || have.size !== file.bytes) missing.push(file)
  }
  if (missing.length > 0) await probeAccess(repo, revision, commit, s)
  return { repo, revision, commit, settings: s, listed, missing, snapshotDir }
}

/** A listed file whose name or blob name would leave the cache folder is refused. */
function checkListedFile(file: HubFile, repo: string, commit: string): void {
  if (escapesFolder(file.path)) {
    throw new ActionError({
      problem: `The Hub lists a file "${log.logSafe(file.path)}" in base-model "${repo}" (commit ${commit}), a name that would be written outside the cache folder`,
      fix: `this action does not download it: use another revision, or ask the repository's owner to rename the file`
    })
  }
  if (!file.etag || !/^[0-9a-f]{40,64}$/.test(file.etag)) {
    throw new ActionError({
      problem: `The Hub lists the file "${log.logSafe(file.path)}" in base-model "${repo}" (commit ${commit}) without a git or LFS hash, so it cannot be cached`,
      fix: `check that HF_ENDPOINT points at a Hugging Face Hub`
    })
  }
}

function checkConfig(listed: HubFile[], repo: string, commit: string): void {
  if (!listed.some(f => f.path === 'config.json')) {
    throw new ActionError({
      problem: `Hugging Face repo "${repo}" (commit ${commit}) has no config.json at its top level`,
      fix: `point base-model at an MLX or transformers model repo`
    })
  }
}

/**
 * One byte of config.json, as a download asks for it: a gated repo answers its model info and
 * file list to anyone, and 401/403 only for the files.
 */
async function probeAccess(
  repo: string,
  revision: string,
  commit: string,
  s: HubSettings
): Promise<void> {
  try {
    const res = await hubFetch(s)(fileUrl(s, repo, commit, 'config.json'), {
      headers: { Range: 'bytes=0-0' }
    })
    const body = res.ok ? '' : await res.text().catch(() => '')
    await res.body?.cancel().catch(() => undefined)
    if (!res.ok) throw new HttpStatusError(res.status, body)
  } catch (error) {
    throw hubError(error, repo, revision, s)
  }
}

/** HF_HUB_OFFLINE: the revision's snapshot from the cache (refs/<revision>), listed from disk. */
async function resolveOffline(repo: string, revision: string, s: HubSettings): Promise<HubPlan> {
  const storage = repoFolder(s.cacheDir, repo)
  const commit = COMMIT.test(revision)
    ? revision
    : (await fs.readFile(path.join(storage, 'refs', revision), 'utf8').catch(() => '')).trim()
  const snapshotDir = path.join(storage, 'snapshots', commit)
  const entries = COMMIT.test(commit)
    ? await fs.readdir(snapshotDir, { recursive: true, withFileTypes: true }).catch(() => null)
    : null
  if (!entries) {
    throw new ActionError({
      problem: `HF_HUB_OFFLINE is set, and the Hugging Face cache ${s.cacheDir} holds no snapshot of base-model "${repo}" at revision "${revision}"`,
      fix: `run once with network access (unset HF_HUB_OFFLINE), or point base-model at a local folder`
    })
  }
  const listed: HubFile[] = []
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name)
    const file = path.relative(snapshotDir, full).split(path.sep).join('/')
    if (!mlxLmWants(file)) continue
    const st = await fs.stat(full).catch(() => null)
    if (st?.isFile()) listed.push({ path: file, bytes: st.size, etag: null })
  }
  listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  checkConfig(listed, repo, commit)
  log.info(`HF_HUB_OFFLINE is set: using the cached snapshot ${snapshotDir}.`)
  return { repo, revision, commit, settings: s, listed, missing: [], snapshotDir }
}

/** fetch with the token sent to the endpoint only (a redirect elsewhere drops it, as fetch does). */
function hubFetch(s: HubSettings): typeof fetch {
  const origin = new URL(s.endpoint).origin
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    if (!s.token || new URL(url).origin !== origin) return fetch(input, init)
    const headers = new Headers(init?.headers)
    headers.set('Authorization', `Bearer ${s.token}`)
    return fetch(input, { ...init, headers })
  }
}

/** `<endpoint>/ORG/NAME/resolve/<commit>/<path>`, as huggingface_hub's hf_hub_url. */
function fileUrl(s: HubSettings, repo: string, commit: string, file: string): string {
  return `${s.endpoint}/${repo}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`
}

/**
 * Refuses when the missing files do not fit on the cache's disk, downloads them (size and
 * progress in a log group), records the revision's commit in refs/ and returns the snapshot,
 * measured by the links' targets.
 */
export async function fetchHubBase(plan: HubPlan, free: FreeBytes): Promise<HubBase> {
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
    await ensureFreeSpace(s.cacheDir, toFetch, `downloading base-model "${repo}"`, free)
    await core.group(
      `Downloading base-model ${name} from ${s.endpoint}: ${missing.length} of ${listed.length} files, ${formatSize(toFetch)}`,
      () => download(plan, toFetch)
    )
  }
  // huggingface_hub records a branch or tag's commit in refs/<revision> (a valid ref name, so
  // inside refs/), so a later download of the same revision by the Python side finds this snapshot.
  if (!COMMIT.test(plan.revision) && !s.offline) {
    await writeText(path.join(storage, 'refs', plan.revision), commit)
  }

  // The snapshot holds links into blobs/: measure their targets, and refuse a short file.
  const files: { path: string; bytes: number }[] = []
  for (const file of listed) {
    const full = path.join(snapshotDir, file.path)
    const st = await fs.stat(full).catch(() => null)
    if (!st?.isFile() || st.size !== file.bytes) {
      throw new ActionError({
        problem: `The cached file ${full} of base-model "${repo}" is ${st?.isFile() ? `${st.size} bytes where the Hub lists ${file.bytes}` : 'missing or not a file'}`,
        fix: `delete ${storage} and run again`
      })
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

async function download(plan: HubPlan, total: number): Promise<void> {
  const { repo, commit, missing: files, settings: s } = plan
  const storage = repoFolder(s.cacheDir, repo)
  const fetcher = hubFetch(s)
  let done = 0
  // A multi-GB shard takes minutes: every 20 s, say how far its partial blob has come.
  const blobs = path.join(storage, 'blobs')
  const started = Date.now()
  const heartbeat = setInterval(() => {
    void partialBytes(blobs, started).then(n => {
      if (n > 0) log.info(`  ... ${formatSize(done + n)} of ${formatSize(total)}`)
    })
  }, 20_000)
  try {
    for (const [i, file] of files.entries()) {
      log.info(`[${i + 1}/${files.length}] ${file.path} (${formatSize(file.bytes)})`)
      const blob = path.join(blobs, file.etag ?? '')
      // A blob another revision already fetched is linked, not downloaded again.
      if (!(await fs.stat(blob).catch(() => null))) {
        await downloadFile({
          // By the commit, not the branch, so every file comes from the one snapshot.
          url: fileUrl(s, repo, commit, file.path),
          file: blob,
          bytes: file.bytes,
          fetch: fetcher,
          attempts: DOWNLOAD_ATTEMPTS,
          delayMs: s.retryDelayMs,
          onRetry: r =>
            log.info(
              `  ${file.path}: interrupted at ${formatSize(r.have)} of ${formatSize(file.bytes)} (${oneLine(r.why)}); retry ${r.attempt} of ${DOWNLOAD_ATTEMPTS - 1} in ${r.delayMs / 1000} s, resuming from there`
            )
        }).catch((error: unknown) => {
          throw fileError(error, file, blob, plan)
        })
      }
      await placeLink(blob, path.join(plan.snapshotDir, file.path))
      done += file.bytes
      log.info(
        `  ${formatSize(done)} of ${formatSize(total)} done (${total ? Math.floor((done / total) * 100) : 100}%)`
      )
    }
  } finally {
    clearInterval(heartbeat)
  }
}

/** One sentence for a file that could not be downloaded: cut, short, refused, or not written. */
function fileError(error: unknown, file: HubFile, blob: string, plan: HubPlan): Error {
  const { repo, settings: s } = plan
  const where = s.endpoint === DEFAULT_ENDPOINT ? 'the Hugging Face Hub' : s.endpoint
  if (error instanceof DownloadCutError && error.answered) {
    return new ActionError({
      problem: `The download of ${log.logSafe(file.path)} (base-model "${repo}") was cut off ${error.attempts} times in a row at ${error.have} of ${file.bytes} bytes`,
      fix: `the bytes so far stay in ${partialPath(blob)} and the next run resumes from them: check the runner's network, proxy and HF_ENDPOINT, then run again`
    })
  }
  if (error instanceof DownloadSizeError) {
    const got = error.got > error.expected ? `more than ${error.expected}` : String(error.got)
    return new ActionError({
      problem: `${where} sent ${got} bytes for ${log.logSafe(file.path)} of base-model "${repo}" where its file list says ${error.expected}`,
      fix: `the partial file was removed: run again, and if it repeats, check for a proxy that alters downloads`
    })
  }
  const code = (error as NodeJS.ErrnoException)?.code
  if (code && (error as NodeJS.ErrnoException).syscall) {
    return new ActionError({
      problem: `Could not write ${partialPath(blob)} for base-model "${repo}" (${code})`,
      fix: `free space on the cache's disk or set HF_HUB_CACHE to a folder this runner can write, then run again`
    })
  }
  return hubError(error, repo, plan.revision, s)
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
