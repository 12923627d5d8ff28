/**
 * A file fetched over HTTP into a cache: written to `<file>.incomplete`, resumed after a cut with
 * its own `Range: bytes=<have>-` request (a partial file an earlier run left is resumed too),
 * retried with exponential backoff, renamed into place only when it has exactly the expected
 * size; plus the links and small files around it. (@huggingface/hub 2.17.5 streams each file in
 * one request, src/lib/download-file-to-cache-dir.ts, and starts over after any error.)
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { discard, removeTree } from './workspace.js'

export interface Download {
  url: string
  /** The finished file; the bytes arrive in `<file>.incomplete`. */
  file: string
  bytes: number
  /** fetch with the credentials the URL needs (redirects followed). */
  fetch: typeof fetch
  /** Tries in a row that add no byte before giving up. */
  attempts: number
  /** The first retry's delay; each further one doubles it, up to 60 s. */
  delayMs: number
  onRetry?: (retry: { attempt: number; have: number; delayMs: number; why: string }) => void
}

/** The server answered with an HTTP error status (not retried unless 408, 429 or 5xx). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string
  ) {
    super(`HTTP ${status}: ${body}`)
  }
}

/** The connection failed `attempts` times in a row without progress. */
export class DownloadCutError extends Error {
  constructor(
    readonly attempts: number,
    readonly have: number,
    /** Whether any attempt got an answer (then the body was cut), else none reached the server. */
    readonly answered: boolean,
    readonly cause: unknown
  ) {
    super(`cut off ${attempts} times at ${have} bytes`)
  }
}

/** A complete answer whose length is not the expected size; the partial file is removed. */
export class DownloadSizeError extends Error {
  constructor(
    readonly got: number,
    readonly expected: number
  ) {
    super(`got ${got} bytes where ${expected} were expected`)
  }
}

const MAX_DELAY_MS = 60_000

export function partialPath(file: string): string {
  return `${file}.incomplete`
}

export async function download(d: Download): Promise<void> {
  const partial = partialPath(d.file)
  await fs.mkdir(path.dirname(d.file), { recursive: true })
  let failures = 0
  let answered = false
  let have = await sizeOf(partial)
  for (;;) {
    if (have > d.bytes) {
      await removeTree(partial)
      have = 0
    }
    const before = have
    try {
      answered = (await transfer(d, partial, have)) || answered
      const got = await sizeOf(partial)
      if (got !== d.bytes) {
        await discard(partial)
        throw new DownloadSizeError(got, d.bytes)
      }
      await fs.rename(partial, d.file)
      return
    } catch (error) {
      if (error instanceof RetryableError) answered = answered || error.answered
      else throw error
      have = await sizeOf(partial)
      failures = have > before ? 1 : failures + 1
      if (failures >= d.attempts) throw new DownloadCutError(failures, have, answered, error.cause)
      const delayMs = Math.min(d.delayMs * 2 ** (failures - 1), MAX_DELAY_MS)
      d.onRetry?.({ attempt: failures, have, delayMs, why: networkCause(error.cause) })
      await new Promise(resolve => setTimeout(resolve, delayMs))
    }
  }
}

class RetryableError extends Error {
  constructor(
    readonly cause: unknown,
    readonly answered: boolean
  ) {
    super(networkCause(cause))
  }
}

/**
 * One request from byte `have`; appends what arrives (each chunk written before the next is
 * read, so after a cut the partial file holds every byte received). True once the server
 * answered; a network fault or a retryable status is thrown as a RetryableError.
 */
async function transfer(d: Download, partial: string, have: number): Promise<boolean> {
  let res: Response
  try {
    res = await d.fetch(d.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} })
  } catch (error) {
    throw new RetryableError(error, false)
  }
  if (res.status === 416 && have === d.bytes) {
    await res.body?.cancel()
    return true // the partial file is already whole
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 500)
    const status = new HttpStatusError(res.status, body)
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      throw new RetryableError(status, true)
    }
    throw status
  }
  // 206 from our offset: append; anything else is the whole file again: start over.
  const from = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')
  const append = res.status === 206 && from !== null && Number(from[1]) === have
  if (res.status === 206 && !append) {
    await res.body?.cancel()
    await discard(partial)
    throw new RetryableError(
      new Error(`the server answered another range than bytes=${have}-`),
      true
    )
  }
  const out = await fs.open(partial, append ? 'a' : 'w')
  let written = append ? have : 0
  try {
    if (!res.body) return true
    const reader = res.body.getReader()
    for (;;) {
      const chunk = await reader.read().catch((error: unknown) => {
        throw new RetryableError(error, true)
      })
      if (chunk.done) return true
      written += chunk.value.length
      await out.write(chunk.value)
      if (written > d.bytes) {
        await reader.cancel()
        return true // longer than expected: the size check refuses it
      }
    }
  } finally {
    await out.close()
  }
}

async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => null))?.size ?? 0
}

/** A network error's cause in one phrase (`UND_ERR_SOCKET: other side closed`), else its message. */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  return (
    [cause?.code, cause?.message].filter(Boolean).join(': ') ||
    ((error as Error)?.message ?? String(error))
  )
}

/** A relative symbolic link at `link` to `target` (replacing a link there), as huggingface_hub makes. */
export async function placeLink(target: string, link: string): Promise<void> {
  await fs.mkdir(path.dirname(link), { recursive: true })
  await removeTree(link)
  await fs.symlink(path.relative(path.dirname(link), target), link)
}

/** Writes a small text file (a cache ref), making its folder. */
export async function writeText(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, text)
}
