/**
 * One commit of files to one Hub repository with @huggingface/hub: the repository and branch made
 * when missing, nothing sent when the revision already holds every file with the same hash, files
 * read lazily from disk (file: URLs), progress lines for large files. The client uses Xet where the
 * server offers it (`useXet`, its default) and the plain LFS transfers otherwise.
 */
import {
  commitIter,
  createBranch,
  createRepo,
  HubApiError,
  listFiles,
  modelInfo,
  type CommitFile
} from '@huggingface/hub'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import * as log from '../core/log.js'
import { formatSize } from '../core/size.js'
import { ActionError } from '../core/types.js'

/** One file for the repository: where it goes, where it is, its size and sha256. */
export interface HubFile {
  path: string
  source: string
  bytes: number
  sha256: string
}

export interface HubTarget {
  repo: string
  revision: string
  private: boolean
  /** The input that named the repository, for messages. */
  input: string
}

export interface HubClient {
  endpoint: string
  token: string | null
  fetch?: typeof fetch
}

export interface HubCommit {
  repo: string
  revision: string
  /** The commit made, or the revision's head when nothing changed. */
  commitUrl: string | null
  unchanged: boolean
  files: number
  bytes: number
}

/** Files of at least this size get progress lines every quarter. */
const PROGRESS_BYTES = 64 * 1024 * 1024

export async function commitFiles(
  target: HubTarget,
  files: readonly HubFile[],
  title: string,
  description: string,
  client: HubClient
): Promise<HubCommit> {
  const { repo, revision } = target
  const common = {
    hubUrl: client.endpoint,
    fetch: client.fetch,
    accessToken: client.token ?? undefined
  }
  if (!client.token) {
    throw new ActionError({
      problem: `Publishing to ${target.input} "${repo}" needs a Hugging Face token with write access`,
      fix: `set hf-token (or HF_TOKEN) to one`
    })
  }
  const head = await call(target, () => ensureRevision(target, common))
  const bytes = files.reduce((n, f) => n + f.bytes, 0)
  if (head && (await call(target, () => holdsAll(target, files, common)))) {
    log.info(
      `${target.input} ${repo}@${revision} already holds these ${files.length} files; no commit.`
    )
    return {
      repo,
      revision,
      commitUrl: `${client.endpoint}/${repo}/commit/${head}`,
      unchanged: true,
      files: files.length,
      bytes
    }
  }
  const operations: CommitFile[] = files.map(f => ({
    operation: 'addOrUpdate',
    path: f.path,
    content: pathToFileURL(f.source)
  }))
  log.info(`Committing ${files.length} files (${formatSize(bytes)}) to ${repo}@${revision}.`)
  const sizes = new Map(files.map(f => [f.path, f.bytes]))
  const shown = new Map<string, number>()
  const iter = commitIter({
    ...common,
    repo: { type: 'model', name: repo },
    branch: revision,
    title,
    description,
    operations
  })
  const output = await call(target, async () => {
    for (;;) {
      const step = await iter.next()
      if (step.done) return step.value
      const e = step.value
      if (e.event !== 'fileProgress' || e.state !== 'uploading') continue
      const size = sizes.get(e.path) ?? 0
      const quarter = Math.floor(e.progress * 4)
      if (size >= PROGRESS_BYTES && quarter > (shown.get(e.path) ?? 0)) {
        shown.set(e.path, quarter)
        log.info(`Uploading ${e.path}: ${quarter * 25} % of ${formatSize(size)}`)
      }
    }
  })
  return {
    repo,
    revision,
    commitUrl: output?.commit.url ?? null,
    unchanged: false,
    files: files.length,
    bytes
  }
}

type Common = { hubUrl: string; fetch?: typeof fetch; accessToken?: string }

/** The revision's head commit, after making the repository or branch when missing (null then). */
async function ensureRevision(target: HubTarget, common: Common): Promise<string | null> {
  const { repo, revision } = target
  try {
    const info = (await modelInfo({
      ...common,
      name: repo,
      revision,
      additionalFields: ['sha']
    })) as {
      sha?: string
    }
    return info.sha ?? null
  } catch (error) {
    const code = error instanceof HubApiError ? error.statusCode : 0
    if (code !== 404) throw error
    const missing = error instanceof HubApiError ? String(error.data?.error ?? error.message) : ''
    if (!/revision/i.test(missing)) {
      await createRepo({
        ...common,
        accessToken: common.accessToken!,
        repo: { type: 'model', name: repo },
        private: target.private
      }).catch((e: unknown) => {
        // Another run made it meanwhile, or the token cannot see it: the next call says which.
        if (!(e instanceof HubApiError && e.statusCode === 409)) throw e
      })
      log.info(`Created the ${target.private ? 'private' : 'public'} Hub repository ${repo}.`)
    }
    if (revision !== 'main') {
      await createBranch({
        ...common,
        repo: { type: 'model', name: repo },
        branch: revision
      }).catch((e: unknown) => {
        if (!(e instanceof HubApiError && e.statusCode === 409)) throw e
      })
      log.info(`Created the branch ${revision} of ${repo} from main.`)
    }
    return null
  }
}

/** True when the revision has every file at its path with the same content (LFS sha256 or git blob). */
async function holdsAll(
  target: HubTarget,
  files: readonly HubFile[],
  common: Common
): Promise<boolean> {
  const remote = new Map<string, { size: number; oid?: string; lfs?: { oid: string } }>()
  for await (const entry of listFiles({
    ...common,
    repo: { type: 'model', name: target.repo },
    revision: target.revision,
    recursive: true
  })) {
    if (entry.type === 'file') remote.set(entry.path, entry)
  }
  for (const f of files) {
    const r = remote.get(f.path)
    if (!r || r.size !== f.bytes) return false
    if (r.lfs) {
      if (r.lfs.oid !== f.sha256) return false
    } else if (r.oid !== (await gitBlobSha1(f.source))) {
      return false
    }
  }
  return true
}

/** A small (non-LFS) file's git object id: sha1 of `blob <size>\0` and its bytes. */
async function gitBlobSha1(file: string): Promise<string> {
  const data = await readFile(file)
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')
}

/** Runs a Hub call, turning its errors into one sentence that names the input and the fix. */
async function call<T>(target: HubTarget, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw hubError(target, error)
  }
}

export function hubError(target: HubTarget, error: unknown): ActionError {
  if (error instanceof ActionError) return error
  const where = `${target.input} "${target.repo}"`
  const rerun =
    'nothing was committed, so the revision is unchanged: run the job again (files the Hub already has are not sent again)'
  if (error instanceof HubApiError) {
    if (error.statusCode === 401) {
      return new ActionError({
        problem: `The Hub refused hf-token for ${where} (HTTP 401: invalid or expired)`,
        fix: `set hf-token (or HF_TOKEN) to a valid token with write access`
      })
    }
    if (error.statusCode === 403) {
      return new ActionError({
        problem: `The Hub refused to let this token write to ${where} (HTTP 403)`,
        fix: `give hf-token a token with write access (a fine-grained token needs write access to this repository, or to create repositories in its namespace)`
      })
    }
    return new ActionError({
      problem: `Publishing to ${where} failed (HTTP ${error.statusCode}: ${log.logSafe(oneLine(error.message))})`,
      fix: `${rerun}`
    })
  }
  return new ActionError({
    problem: `Publishing to ${where} failed (${log.logSafe(oneLine(String((error as Error)?.message ?? error)))})`,
    fix: `${rerun}`
  })
}

function oneLine(text: string): string {
  const line = text.split('\n')[0].trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}
