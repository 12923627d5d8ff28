#!/usr/bin/env node
/**
 * Publishes the GGUF files of an mlx-fuse-action run to a GitHub release, with the `gh` CLI.
 * Plain Node (no dependencies, no build) so the publish-release composite action runs it as is.
 *
 *   publish.mjs plan    --checksums DIR --notes FILE     which files, refused before any download
 *   publish.mjs release --tag TAG --notes FILE --checksums DIR --name NAME   create or update it
 *   publish.mjs attach  --tag TAG --file PATH --checksums DIR    verify one file, attach, delete
 *
 * DIR is the unpacked `<artifact-name>-checksums` artifact: `SHA256SUMS` (sha256sum -c format)
 * and `manifest.json`; NAME is the artifact-name prefix, so several models can share one release
 * (each gets its own notes section and its own `NAME-SHA256SUMS`). GitHub's limits: a release asset must be under 2 GiB and a release holds at
 * most 1000 assets. Every failure is one line starting with `::error::` and exit code 1.
 */
import { spawnSync } from 'node:child_process'
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** A release asset must be under 2 GiB (GitHub's limit). */
export const MAX_ASSET_BYTES = 2 ** 31
/** A release holds at most 1000 assets. */
export const MAX_ASSETS = 1000

class PublishError extends Error {}

const fail = message => {
  throw new PublishError(message)
}

/** `1.23 GB (1.15 GiB)`: both units, as the action's own reports. */
export function formatSize(bytes) {
  const unit = (base, names) => {
    let value = bytes
    let i = 0
    while (value >= base && i < names.length - 1) {
      value /= base
      i++
    }
    return i === 0 ? `${bytes} B` : `${value.toFixed(2)} ${names[i]}`
  }
  if (bytes < 1000) return `${bytes} B`
  return `${unit(1000, ['B', 'kB', 'MB', 'GB', 'TB'])} (${unit(1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB'])})`
}

/** Lines of a SHA256SUMS file: `<64 hex>  <name>` (a `*` before the name marks binary mode). */
export function parseChecksums(text, file = 'SHA256SUMS') {
  const entries = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (!m)
      fail(
        `${file} line ${i + 1} is not "<sha256>  <name>"; download the checksums artifact again.`
      )
    entries.push({ sha256: m[1], name: m[2] })
  })
  return entries
}

/** name -> bytes for every GGUF file and shard the manifest lists. */
function manifestSizes(manifest) {
  const sizes = new Map()
  for (const output of manifest.outputs ?? []) {
    if (output.kind !== 'gguf') continue
    if (Array.isArray(output.shards) && output.shards.length > 0) {
      for (const shard of output.shards) sizes.set(path.basename(shard.path), shard.bytes)
    } else {
      sizes.set(path.basename(output.path), output.bytes)
    }
  }
  return sizes
}

function readChecksumsDir(dir) {
  const read = name => {
    try {
      return readFileSync(path.join(dir, name), 'utf8')
    } catch {
      return fail(
        `${path.join(dir, name)} is missing; download the run's "<artifact-name>-checksums" artifact into ${dir} first.`
      )
    }
  }
  const sums = parseChecksums(read('SHA256SUMS'))
  let manifest
  try {
    manifest = JSON.parse(read('manifest.json'))
  } catch (error) {
    if (error instanceof PublishError) throw error
    fail(`${path.join(dir, 'manifest.json')} is not JSON; download the checksums artifact again.`)
  }
  if (manifest?.generator !== 'mlx-fuse-action') {
    fail(
      `${path.join(dir, 'manifest.json')} was not written by mlx-fuse-action; point --checksums at the run's checksums artifact.`
    )
  }
  return { sums, manifest }
}

/** The GGUF files to publish: every `.gguf` line of SHA256SUMS, with its size from the manifest. */
export function plan(dir) {
  const { sums, manifest } = readChecksumsDir(dir)
  const sizes = manifestSizes(manifest)
  const files = sums
    .filter(e => e.name.endsWith('.gguf') && !e.name.includes('/'))
    .map(e => ({ ...e, bytes: sizes.get(e.name) ?? null }))
  if (files.length === 0) {
    fail(
      'The run made no GGUF files (SHA256SUMS lists none); set the gguf input of fuse.yml, or do not call publish-release.'
    )
  }
  const tooLarge = files.filter(f => f.bytes !== null && f.bytes >= MAX_ASSET_BYTES)
  if (tooLarge.length > 0) {
    const list = tooLarge.map(f => `${f.name} (${formatSize(f.bytes)})`).join(', ')
    fail(
      `${list} ${tooLarge.length === 1 ? 'is' : 'are'} not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits GGUF files into shards that fit.`
    )
  }
  const assets = files.length + 2 // the GGUF files, SHA256SUMS and manifest.json
  if (assets > MAX_ASSETS) {
    fail(
      `Publishing ${files.length} GGUF files plus SHA256SUMS and manifest.json makes ${assets} assets, over GitHub's ${MAX_ASSETS} per release; publish fewer types, or a larger gguf-split so there are fewer shards.`
    )
  }
  return { files, manifest, sums }
}

/** The release notes of one model: the size table from the manifest. */
export function notes(manifest, files, name) {
  const rows = files.map(f => {
    const output = (manifest.outputs ?? []).find(
      o =>
        path.basename(o.path) === f.name ||
        (o.shards ?? []).some(s => path.basename(s.path) === f.name)
    )
    // Markdown: escape the format text; in a code span only a backtick or a pipe needs care.
    const escape = text => String(text).replace(/[|\\`*_<>[\]]/g, c => `\\${c}`)
    const code = text => `\`${String(text).replace(/`/g, "'").replace(/\|/g, '\\|')}\``
    const bpw = typeof output?.bitsPerWeight === 'number' ? output.bitsPerWeight.toFixed(2) : '—'
    const size =
      f.bytes === null ? '—' : `${formatSize(f.bytes)}<br>${f.bytes.toLocaleString('en-US')} bytes`
    return `| ${code(f.name)} | ${escape(output?.format ?? 'GGUF')} | ${size} | ${bpw} | ${code(f.sha256)} |`
  })
  return [
    `GGUF files fused from \`${String(manifest.baseModel).replace(/`/g, "'")}\` by mlx-fuse-action.`,
    '',
    '| File | Format | Size | Bits/weight | SHA-256 |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Verify a download with \`sha256sum -c ${name}-SHA256SUMS --ignore-missing\`. A file named \`*-00001-of-0000N.gguf\` is the first shard of a split model: keep the shards together, and llama.cpp loads the model from the first.`,
    ''
  ].join('\n')
}

function gh(args, { allowFail = false } = {}) {
  const r = spawnSync('gh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error)
    fail(
      `gh could not be started (${r.error.message}); install the GitHub CLI or run on a GitHub-hosted runner.`
    )
  if (r.status !== 0 && !allowFail) {
    const last = `${r.stdout}${r.stderr}`.trim().split('\n').pop()
    fail(
      `gh ${args.slice(0, 2).join(' ')} failed with exit code ${r.status} (${last}); check that the job has permissions: contents: write.`
    )
  }
  return r
}

/** `body` with NAME's section replaced (or appended): one section per model in a shared release. */
export function withSection(body, name, text) {
  const start = `<!-- mlx-fuse-action:${name} -->`
  const end = `<!-- /mlx-fuse-action:${name} -->`
  const section = `${start}\n${text.trim()}\n${end}`
  const from = body.indexOf(start)
  const to = body.indexOf(end)
  if (from !== -1 && to > from)
    return `${body.slice(0, from)}${section}${body.slice(to + end.length)}`
  return body.trim() === '' ? `${section}\n` : `${body.trimEnd()}\n\n${section}\n`
}

/**
 * Creates the release of `tag` when missing, else updates NAME's section of its notes; attaches
 * NAME-SHA256SUMS and NAME-manifest.json, replacing those of an earlier run.
 */
export function release(tag, notesFile, dir, name) {
  const view = gh(['release', 'view', tag, '--json', 'body', '--jq', '.body'], { allowFail: true })
  const exists = view.status === 0
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'publish-'))
  try {
    const body = withSection(exists ? view.stdout : '', name, readFileSync(notesFile, 'utf8'))
    const bodyFile = path.join(tmp, 'notes.md')
    writeFileSync(bodyFile, body)
    if (exists) gh(['release', 'edit', tag, '--notes-file', bodyFile])
    else gh(['release', 'create', tag, '--title', tag, '--notes-file', bodyFile])
    const sums = path.join(tmp, `${name}-SHA256SUMS`)
    const manifest = path.join(tmp, `${name}-manifest.json`)
    copyFileSync(path.join(dir, 'SHA256SUMS'), sums)
    copyFileSync(path.join(dir, 'manifest.json'), manifest)
    gh(['release', 'upload', tag, sums, manifest, '--clobber'])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return exists ? 'updated' : 'created'
}

/** Checks one downloaded file (size, `sha256sum -c`), attaches it (replacing one of the same name), deletes it. */
export function attach(tag, file, dir) {
  const name = path.basename(file)
  const entry = parseChecksums(readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')).find(
    e => e.name === name
  )
  if (!entry)
    fail(
      `${name} is not listed in SHA256SUMS; it was not made by this run, so it is not published.`
    )
  let bytes
  try {
    bytes = statSync(file).size
  } catch {
    fail(`${file} is missing; the download of artifact ${name} did not produce it.`)
  }
  if (bytes >= MAX_ASSET_BYTES) {
    fail(
      `${name} is ${formatSize(bytes)}, not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits it.`
    )
  }
  const check = spawnSync('sha256sum', ['-c', '-'], {
    cwd: path.dirname(file),
    input: `${entry.sha256}  ${name}\n`,
    encoding: 'utf8'
  })
  if (check.error)
    fail(`sha256sum could not be started (${check.error.message}); install coreutils.`)
  if (check.status !== 0) {
    fail(
      `${name} does not match its SHA-256 in SHA256SUMS (${check.stdout.trim() || check.stderr.trim()}); the download is corrupt or the artifact changed: run the release again.`
    )
  }
  gh(['release', 'upload', tag, file, '--clobber'])
  rmSync(file, { force: true })
  return { name, bytes }
}

function option(args, name) {
  const i = args.indexOf(`--${name}`)
  if (i === -1 || i + 1 >= args.length) fail(`publish.mjs needs --${name}.`)
  return args[i + 1]
}

function main(argv) {
  const [command, ...args] = argv
  const out = process.env.GITHUB_OUTPUT
  if (command === 'plan') {
    const dir = option(args, 'checksums')
    const p = plan(dir)
    writeFileSync(option(args, 'notes'), notes(p.manifest, p.files, option(args, 'name')))
    const names = p.files.map(f => f.name)
    if (out) appendFileSync(out, `files=${JSON.stringify(names)}\n`)
    console.log(
      `Publishing ${names.length} GGUF file${names.length === 1 ? '' : 's'}: ${names.join(', ')}`
    )
  } else if (command === 'release') {
    const tag = option(args, 'tag')
    const how = release(tag, option(args, 'notes'), option(args, 'checksums'), option(args, 'name'))
    console.log(`Release ${tag} ${how}.`)
  } else if (command === 'attach') {
    const { name, bytes } = attach(
      option(args, 'tag'),
      option(args, 'file'),
      option(args, 'checksums')
    )
    console.log(`Attached ${name} (${formatSize(bytes)}), checksum verified.`)
  } else {
    fail(`publish.mjs: unknown command "${command ?? ''}"; use plan, release or attach.`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof PublishError)) throw error
    // One line, with workflow-command characters of file names neutralised by the runner's escaping.
    console.log(
      `::error::${error.message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`
    )
    process.exit(1)
  }
}
