#!/usr/bin/env node
/**
 * Publishes the GGUF files of an mlx-fuse-action run to a GitHub release, with the `gh` CLI.
 * Plain Node (no dependencies, no build) so the publish-release composite action runs it as is.
 *
 *   publish.mjs plan     --tag TAG --checksums DIR --name NAME --notes FILE   refuse before any download
 *   publish.mjs release  --tag TAG --checksums DIR --name NAME --notes FILE   draft + notes + sums
 *   publish.mjs attach   --tag TAG --checksums DIR --file PATH    verify one file, attach, delete it
 *   publish.mjs verify   --tag TAG [--checksums DIR --name NAME] --subjects FILE
 *                        [--attest auto|true|false --visibility V]
 *                        verify every asset, write the attestation subjects, change nothing
 *   publish.mjs finalize --tag TAG [--checksums DIR --name NAME]   verify every asset, then publish
 *
 * DIR is the unpacked `<artifact-name>-checksums` artifact: `SHA256SUMS` (sha256sum -c format)
 * and `manifest.json`; NAME is the artifact-name prefix, so several models can share one release
 * (each gets its own notes section and its own `NAME-SHA256SUMS` and `NAME-manifest.json`).
 *
 * Immutable releases (a repository or organisation setting) accept no asset once published, so
 * the release is made as a draft, every file is attached and checked, and `finalize` publishes
 * it. GitHub's limits: a release asset must be under 2 GiB, a release holds at most 1000 assets,
 * a matrix expands to at most 256 jobs. Every failure is one line starting with `::error::` and
 * exit code 1.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
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
/** A matrix expands to at most 256 jobs per workflow run (the attach job's matrix: one per file). */
export const MAX_MATRIX_JOBS = 256

class PublishError extends Error {}

const fail = message => {
  throw new PublishError(message)
}

const WORD_JOINER = '\u2060'
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu

/**
 * Text safe for one log line, by the action's own rule (src/core/log.ts `logSafe`): control
 * characters spelt `\u000a`, and `::` and `##[` (the runner's two command forms, actions/runner
 * src/Runner.Common/ActionCommand.cs) broken with a word joiner, so a file or artifact name can
 * never become a workflow command.
 */
export function logSafe(text) {
  return String(text)
    .replace(CONTROL, ch => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)
    .replace(/::/g, `:${WORD_JOINER}:`)
    .replace(/##\[/g, `#${WORD_JOINER}#[`)
}

const quoted = text => JSON.stringify(String(text))

/**
 * NAME names release assets (`NAME-SHA256SUMS`), temporary files and a notes marker, and is an
 * argument to gh: letters, digits, `.`, `_` and `-`, starting with a letter or digit. GitHub
 * renames asset files with other characters, so their names would no longer match SHA256SUMS.
 */
export function checkName(name) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.endsWith('.')) {
    fail(
      `The artifact name ${quoted(name)} cannot name release assets; use letters, digits, ".", "_" and "-" only, starting with a letter or digit (the artifact-name of fuse.yml).`
    )
  }
  return name
}

/** A tag gh can only read as a tag: a valid git tag name that does not start with `-`. */
export function checkTag(tag) {
  const bad =
    tag === '' ||
    tag.startsWith('-') ||
    tag === '@' ||
    // git check-ref-format: no control characters, space, ~ ^ : ? * [ \, `..`, `@{`, `//`, and
    // no component that starts with `.` or ends with `.lock`, nor a trailing `/` or `.`.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0020\u007f~^:?*[\\]/.test(tag) ||
    /\.\.|@\{|\/\//.test(tag) ||
    /(^|\/)\./.test(tag) ||
    /\.lock(\/|$)/.test(tag) ||
    /[/.]$/.test(tag)
  if (bad) {
    fail(
      `The tag ${quoted(tag)} is not a tag name gh and git accept; use a tag such as v1.2.0 (no leading "-", no spaces, ":" or "..").`
    )
  }
  return tag
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

const isBytes = value => Number.isSafeInteger(value) && value >= 0

/** name -> bytes for every GGUF file and shard the manifest lists; a malformed entry is one sentence. */
function manifestSizes(manifest, file) {
  const sizes = new Map()
  const outputs = manifest.outputs ?? []
  const broken = what =>
    fail(
      `${file} ${what}; it was not written by this action: download the checksums artifact again.`
    )
  if (!Array.isArray(outputs)) broken('has no list of outputs')
  outputs.forEach((output, i) => {
    if (output === null || typeof output !== 'object') broken(`output ${i + 1} is not an object`)
    if (output.kind !== 'gguf') return
    const entries =
      Array.isArray(output.shards) && output.shards.length > 0 ? output.shards : [output]
    for (const entry of entries) {
      if (typeof entry?.path !== 'string' || !isBytes(entry.bytes)) {
        broken(`output ${i + 1} has a GGUF entry without a string path and a byte count`)
      }
      sizes.set(path.basename(entry.path), entry.bytes)
    }
  })
  return sizes
}

function readText(file, fix) {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    return fail(`${file} cannot be read (${error.code ?? error.message}); ${fix}`)
  }
}

function readChecksumsDir(dir) {
  const fix = `download the run's "<artifact-name>-checksums" artifact into ${dir} first.`
  const sums = parseChecksums(readText(path.join(dir, 'SHA256SUMS'), fix))
  const manifestFile = path.join(dir, 'manifest.json')
  const manifest = parseManifest(readText(manifestFile, fix), manifestFile)
  return { sums, manifest, sizes: manifestSizes(manifest, manifestFile) }
}

function parseManifest(text, file) {
  let manifest
  try {
    manifest = JSON.parse(text)
  } catch {
    fail(`${file} is not JSON; download the checksums artifact again.`)
  }
  if (manifest?.generator !== 'mlx-fuse-action') {
    fail(
      `${file} was not written by mlx-fuse-action; point --checksums at the run's checksums artifact.`
    )
  }
  return manifest
}

/** The GGUF files of SHA256SUMS (top-level `.gguf` lines), with their sizes from the manifest. */
function ggufFiles(sums, sizes) {
  return sums
    .filter(e => e.name.endsWith('.gguf') && !e.name.includes('/'))
    .map(e => ({ ...e, bytes: sizes.get(e.name) ?? null }))
}

/**
 * The small files released beside the GGUF files, from SHA256SUMS: each published GGUF file's
 * Ollama Modelfile, listed as `<artifact>-checksums/<file>.Modelfile` and released under its own
 * name, beside the GGUF file its `FROM` line loads; and the run's model card, listed as
 * `<artifact>-checksums/README.md` and released as `NAME-README.md`, as the manifest is. `file`
 * is the name in the checksums folder, `name` the release asset's.
 */
function extraFiles(sums, name) {
  return sums.flatMap(e => {
    const m = /^[^/]+\/([^/]+)$/.exec(e.name)
    if (!m) return []
    if (m[1].endsWith('.Modelfile')) return [{ sha256: e.sha256, file: m[1], name: m[1] }]
    if (m[1] === 'README.md') return [{ sha256: e.sha256, file: m[1], name: `${name}-README.md` }]
    return []
  })
}

/** The assets one model adds to a release: its GGUF files, Modelfiles and card, NAME-SHA256SUMS and NAME-manifest.json. */
const ownAssets = (files, name, extras = []) => [
  ...files.map(f => f.name),
  ...extras.map(f => f.name),
  `${name}-SHA256SUMS`,
  `${name}-manifest.json`
]

/**
 * The GGUF files to publish: every `.gguf` line of SHA256SUMS, with its size from the manifest.
 * Everything that would fail later is refused here, before anything large is downloaded: a file
 * of 2 GiB or more, more files than one matrix can hold, more assets than a release can hold
 * (counting those already on it), and a release of TAG that cannot take them.
 */
export function plan(dir, name, tag) {
  const { sums, manifest, sizes } = readChecksumsDir(dir)
  const files = ggufFiles(sums, sizes)
  if (files.length === 0) {
    fail(
      'The run made no GGUF files (SHA256SUMS lists none); set the gguf input of fuse.yml, or do not call publish-release.'
    )
  }
  const extras = extraFiles(sums, name)
  for (const f of [...files, ...extras]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f.name)) {
      fail(
        `SHA256SUMS lists ${quoted(f.name)}, a name GitHub would change when attaching it; use an artifact-name of letters, digits, ".", "_" and "-" in fuse.yml.`
      )
    }
  }
  const tooLarge = files.filter(f => f.bytes !== null && f.bytes >= MAX_ASSET_BYTES)
  if (tooLarge.length > 0) {
    const list = tooLarge.map(f => `${f.name} (${formatSize(f.bytes)})`).join(', ')
    fail(
      `${list} ${tooLarge.length === 1 ? 'is' : 'are'} not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits GGUF files into shards that fit.`
    )
  }
  if (files.length > MAX_MATRIX_JOBS) {
    fail(
      `Publishing ${files.length} GGUF files needs ${files.length} attach jobs, over the ${MAX_MATRIX_JOBS} jobs one matrix can expand to; set a larger gguf-split so there are fewer shards, or publish fewer types.`
    )
  }
  const state = releaseState(tag)
  if (state.release?.isImmutable && !state.release.isDraft) {
    fail(
      `Release ${tag} is already published and immutable, so no asset can be added to it; publish to a new tag.`
    )
  }
  const names = new Set(ownAssets(files, name, extras))
  const kept = (state.release?.assets ?? []).filter(a => !names.has(a.name)).length
  const assets = kept + names.size
  if (assets > MAX_ASSETS) {
    fail(
      `Publishing ${files.length} GGUF files plus ${extras.length ? `${extras.length} Modelfiles and cards, ` : ''}${name}-SHA256SUMS and ${name}-manifest.json makes ${assets} assets with the ${kept} already on release ${tag}, over GitHub's ${MAX_ASSETS} per release; publish fewer types, a larger gguf-split so there are fewer shards, or use another tag.`
    )
  }
  return { files, manifest, sums }
}

/** The release notes of one model: the size table from the manifest. */
export function notes(manifest, files, name) {
  // Markdown: escape the format text; in a code span only a backtick or a pipe needs care.
  const escape = text => String(text).replace(/[|\\`*_<>[\]]/g, c => `\\${c}`)
  const code = text => `\`${String(text).replace(/`/g, "'").replace(/\|/g, '\\|')}\``
  const rows = files.map(f => {
    const output = (manifest.outputs ?? []).find(
      o =>
        path.basename(String(o.path)) === f.name ||
        (o.shards ?? []).some(s => path.basename(String(s.path)) === f.name)
    )
    const bpw = typeof output?.bitsPerWeight === 'number' ? output.bitsPerWeight.toFixed(2) : '—'
    const size =
      f.bytes === null ? '—' : `${formatSize(f.bytes)}<br>${f.bytes.toLocaleString('en-US')} bytes`
    return `| ${code(f.name)} | ${escape(output?.format ?? 'GGUF')} | ${size} | ${bpw} | ${code(f.sha256)} |`
  })
  return [
    `GGUF files fused from ${code(manifest.baseModel)} by mlx-fuse-action.`,
    '',
    '| File | Format | Size | Bits/weight | SHA-256 |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Verify a download with ${code(`sha256sum -c ${name}-SHA256SUMS --ignore-missing`)}. A file named \`*-00001-of-0000N.gguf\` is the first shard of a split model: keep the shards together, and llama.cpp loads the model from the first.`,
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
    // The line that says why: gh prints "Unknown JSON field" first and the known fields after it.
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n')
    const last = lines.find(l => /Unknown JSON field|immutable/i.test(l)) ?? lines.pop()
    const fix = /Unknown JSON field/i.test(last)
      ? 'update the GitHub CLI to one whose release commands report isImmutable and asset digests'
      : /immutable/i.test(last)
        ? 'the release is published and immutable, so publish to a new tag'
        : 'check that the job has permissions: contents: write'
    fail(`gh ${args.slice(0, 2).join(' ')} failed with exit code ${r.status} (${last}); ${fix}.`)
  }
  return r
}

function json(r, what) {
  try {
    return JSON.parse(r.stdout)
  } catch {
    return fail(`gh ${what} did not print JSON; update the GitHub CLI, then run again.`)
  }
}

/**
 * The release of TAG, as gh resolves it: none, or exactly one, published or draft. gh finds a
 * published release by tag and otherwise the FIRST draft with that pending tag (cli/cli
 * pkg/cmd/release/shared/fetch.go, FetchRelease and fetchDraftRelease), so with several drafts
 * for one tag it would pick one at random: that is refused. `isImmutable` is the REST field
 * `immutable` (same file, Release; release list: pkg/cmd/release/list/http.go).
 */
function releaseState(tag) {
  const list = json(
    gh(['release', 'list', '--json', 'tagName,isDraft,isImmutable', '--limit', '10000']),
    'release list'
  )
  const same = list.filter(r => r.tagName === tag)
  if (same.length > 1) {
    const drafts = same.filter(r => r.isDraft).length
    fail(
      `Tag ${tag} has ${same.length} releases (${drafts} of them drafts), so gh cannot tell which one to change; delete the extra drafts of ${tag} on the Releases page, then run again.`
    )
  }
  if (same.length === 0) return { release: null }
  return { release: viewRelease(tag) }
}

function viewRelease(tag) {
  return json(
    gh(['release', 'view', '--json', 'body,isDraft,isImmutable,assets,tagName', '--', tag]),
    'release view'
  )
}

/** An HTML comment marker that no name can close early: anything but [A-Za-z0-9._-] is %-encoded. */
const marker = name =>
  String(name).replace(/[^A-Za-z0-9._-]/gu, c =>
    [...Buffer.from(c, 'utf8')]
      .map(b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('')
  )

/** `body` with NAME's section replaced (or appended): one section per model in a shared release. */
export function withSection(body, name, text) {
  const start = `<!-- mlx-fuse-action:${marker(name)} -->`
  const end = `<!-- /mlx-fuse-action:${marker(name)} -->`
  const section = `${start}\n${text.trim()}\n${end}`
  const from = body.indexOf(start)
  const to = body.indexOf(end)
  if (from !== -1 && to > from)
    return `${body.slice(0, from)}${section}${body.slice(to + end.length)}`
  return body.trim() === '' ? `${section}\n` : `${body.trimEnd()}\n\n${section}\n`
}

/**
 * Whether `body` holds NAME's section with `text`, whatever line endings the service gave back
 * (a body edited on github.com comes back with CRLF).
 */
const hasSection = (body, name, text) => {
  const lf = t => t.replace(/\r\n/g, '\n')
  const section = withSection('', name, lf(text)).trim()
  return lf(body).includes(section)
}

/** The commit the fuse ran on (GITHUB_SHA), recorded in the manifest as `runCommit`. */
function runCommit(manifest, tag) {
  const sha = manifest.runCommit
  if (typeof sha === 'string' && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) return sha
  return fail(
    `manifest.json records no runCommit (the commit the fuse ran on), and without it gh would tag the default branch's head as ${tag}; run fuse.yml again on GitHub Actions with this action's current version, which records it.`
  )
}

/**
 * Creates the release of TAG as a draft (targeting the commit the fuse ran on) when there is
 * none, else updates NAME's section of its notes; attaches NAME-SHA256SUMS and
 * NAME-manifest.json, replacing those of an earlier run. Several models may write one body at
 * once (read, change, write): after writing, the body is read again and NAME's section applied
 * again if another writer's stale body dropped it.
 */
export function release(tag, notesFile, dir, name) {
  const text = readText(
    notesFile,
    'run the plan command first; it writes the notes file release reads.'
  )
  const { manifest, sums: checked } = readChecksumsDir(dir)
  // The Modelfiles and the card, each checked against SHA256SUMS before the release is changed.
  const extras = extraFiles(checked, name).map(e => {
    const file = path.join(dir, e.file)
    let bytes
    try {
      bytes = readFileSync(file)
    } catch (error) {
      fail(
        `${file} cannot be read (${error.code ?? error.message}); download the run's checksums artifact, whole, into ${dir}.`
      )
    }
    if (sha256(bytes) !== e.sha256) {
      fail(
        `${e.file} in ${dir} does not match its SHA-256 in SHA256SUMS; download the checksums artifact again.`
      )
    }
    return { ...e, path: file }
  })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'publish-'))
  try {
    const bodyFile = path.join(tmp, 'notes.md')
    let { release: current } = releaseState(tag)
    let how = 'updated'
    if (current === null) {
      writeFileSync(bodyFile, withSection('', name, text))
      const target = runCommit(manifest, tag)
      gh([
        'release',
        'create',
        '--draft',
        '--target',
        target,
        '--title',
        tag,
        '--notes-file',
        bodyFile,
        '--',
        tag
      ])
      how = 'created as a draft'
      // Another publication may have made a draft of the same tag at the same time: the API
      // allows several, and gh would then change either. Refused now rather than later.
      releaseState(tag)
    } else {
      if (current.isImmutable && !current.isDraft) {
        fail(
          `Release ${tag} is already published and immutable, so no asset can be added to it; publish to a new tag.`
        )
      }
      writeFileSync(bodyFile, withSection(current.body ?? '', name, text))
      gh(['release', 'edit', '--notes-file', bodyFile, '--', tag])
    }
    // Converge: read back; while another writer's body lacks this section, apply it again.
    for (let attempt = 0; ; attempt++) {
      current = viewRelease(tag)
      if (hasSection(current.body ?? '', name, text)) break
      if (attempt === 5) {
        fail(
          `The notes of release ${tag} lost the ${name} section to other writers 5 times in a row; run the release again once the other publications of ${tag} have finished.`
        )
      }
      writeFileSync(bodyFile, withSection(current.body ?? '', name, text))
      gh(['release', 'edit', '--notes-file', bodyFile, '--', tag])
    }
    const sums = path.join(tmp, `${name}-SHA256SUMS`)
    const manifestAsset = path.join(tmp, `${name}-manifest.json`)
    copyFileSync(path.join(dir, 'SHA256SUMS'), sums)
    copyFileSync(path.join(dir, 'manifest.json'), manifestAsset)
    // An asset takes its file's name: the card is copied to NAME-README.md first.
    const uploads = extras.map(e => {
      if (path.basename(e.path) === e.name) return e.path
      const renamed = path.join(tmp, e.name)
      copyFileSync(e.path, renamed)
      return renamed
    })
    gh(['release', 'upload', '--clobber', '--', tag, sums, manifestAsset, ...uploads])
    return how
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** Checks one downloaded file (size, `sha256sum -c`), attaches it (replacing one of the same name), deletes it. */
export function attach(tag, file, dir) {
  const name = path.basename(file)
  const fix = `download the run's "<artifact-name>-checksums" artifact into ${dir} first.`
  const entry = parseChecksums(readText(path.join(dir, 'SHA256SUMS'), fix)).find(
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
  gh(['release', 'upload', '--clobber', '--', tag, file])
  rmSync(file, { force: true })
  return { name, bytes }
}

const sha256 = data => createHash('sha256').update(data).digest('hex')

/**
 * Checks every model on the release of TAG against its own NAME-SHA256SUMS and NAME-manifest.json
 * assets (each GGUF asset there, its size equal to the manifest's, its digest, where the API gives
 * one, equal to SHA256SUMS; each Modelfile and card it lists, downloaded, of its SHA-256) and
 * returns the notes body with every model's section written again and every verified file
 * (`sha256`, `name`, `gguf`). With DIR and NAME, the release's NAME-SHA256SUMS
 * must also be this run's. Changes nothing.
 */
export function verifyRelease(tag, dir, name) {
  const { release: current } = releaseState(tag)
  if (current === null) {
    fail(`Tag ${tag} has no release to publish; run publish-release for a model first.`)
  }
  if (!current.isDraft && current.isImmutable) {
    fail(`Release ${tag} is already published and immutable; nothing is left to do or change.`)
  }
  const assets = new Map((current.assets ?? []).map(a => [a.name, a]))
  const models = [...assets.keys()]
    .filter(n => n.endsWith('-SHA256SUMS') && assets.has(`${n.slice(0, -11)}-manifest.json`))
    .map(n => n.slice(0, -11))
    .sort()
  if (models.length === 0) {
    fail(
      `Release ${tag} holds no NAME-SHA256SUMS with its NAME-manifest.json, so nothing can be verified; run publish-release for a model first.`
    )
  }
  if (name && !models.includes(name)) {
    fail(
      `Release ${tag} lacks ${name}-SHA256SUMS or ${name}-manifest.json; run its publication again.`
    )
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'publish-'))
  try {
    gh([
      'release',
      'download',
      '--pattern',
      '*-SHA256SUMS',
      '--pattern',
      '*-manifest.json',
      '--dir',
      tmp,
      '--',
      tag
    ])
    let body = current.body ?? ''
    const verified = []
    for (const model of models) {
      const sumsFile = path.join(tmp, `${model}-SHA256SUMS`)
      const manifestFile = path.join(tmp, `${model}-manifest.json`)
      const sumsText = readText(sumsFile, 'run the finalize again.')
      if (model === name) {
        const local = readText(
          path.join(dir, 'SHA256SUMS'),
          'download the checksums artifact again.'
        )
        if (sha256(local) !== sha256(sumsText)) {
          fail(
            `The ${name}-SHA256SUMS on release ${tag} is not this run's; another run published ${name} to ${tag}: run this publication again.`
          )
        }
      }
      const manifest = parseManifest(
        readText(manifestFile, 'run the finalize again.'),
        manifestFile
      )
      const listed = parseChecksums(sumsText, `${model}-SHA256SUMS`)
      const files = ggufFiles(listed, manifestSizes(manifest, manifestFile))
      for (const f of files) {
        const asset = assets.get(f.name)
        if (!asset) {
          fail(
            `Release ${tag} lacks ${f.name}, listed in ${model}-SHA256SUMS; run the publication of ${model} again.`
          )
        }
        if (f.bytes !== null && asset.size !== f.bytes) {
          fail(
            `${f.name} on release ${tag} is ${asset.size} bytes, not the ${f.bytes} of ${model}-manifest.json; the upload is incomplete: run the publication of ${model} again.`
          )
        }
        if (asset.digest && asset.digest !== `sha256:${f.sha256}`) {
          fail(
            `${f.name} on release ${tag} has digest ${asset.digest}, not the sha256:${f.sha256} of ${model}-SHA256SUMS; run the publication of ${model} again.`
          )
        }
        verified.push({ sha256: f.sha256, name: f.name, gguf: true })
      }
      for (const e of verifySmallAssets(tag, model, extraFiles(listed, model), assets, tmp))
        verified.push(e)
      body = withSection(body, model, notes(manifest, files, model))
    }
    return { current, models, files: verified, body }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * The Modelfiles and the card a model's SHA256SUMS lists, each on the release and, downloaded
 * (they are small), of the SHA-256 listed: the same check as a GGUF file's, with its bytes.
 */
function verifySmallAssets(tag, model, extras, assets, tmp) {
  if (extras.length === 0) return []
  for (const e of extras) {
    if (!assets.has(e.name)) {
      fail(
        `Release ${tag} lacks ${e.name}, listed in ${model}-SHA256SUMS; run the publication of ${model} again.`
      )
    }
  }
  const dir = mkdtempSync(path.join(tmp, `${model}-`))
  gh([
    'release',
    'download',
    ...extras.flatMap(e => ['--pattern', e.name]),
    '--dir',
    dir,
    '--',
    tag
  ])
  return extras.map(e => {
    const got = sha256(readFileSync(path.join(dir, e.name)))
    if (got !== e.sha256) {
      fail(
        `${e.name} on release ${tag} has SHA-256 ${got}, not the ${e.sha256} of ${model}-SHA256SUMS; run the publication of ${model} again.`
      )
    }
    return { sha256: e.sha256, name: e.name, gguf: false }
  })
}

/**
 * The subjects of the release's provenance attestation, in the sha256sum format that actions/attest
 * reads as `subject-checksums` (actions/attest v4.2.2, action.yml): every verified file, the GGUF
 * files with their Modelfiles and the model card.
 */
export function subjects(files) {
  return files.map(f => `${f.sha256}  ${f.name}\n`).join('')
}

/**
 * Whether to attest: `auto` attests in public repositories only (GitHub's plans other than
 * Enterprise Cloud offer artifact attestations for public repositories only: actions/attest
 * v4.2.2, README.md); VISIBILITY is the event's `repository.visibility`.
 */
export function attestMode(attest, visibility) {
  if (attest === 'true') return true
  if (attest === 'false') return false
  if (attest === 'auto') return visibility === 'public'
  fail(`Input attest of publish-release.yml must be auto, true or false.`)
}

/** verifyRelease, then writes every model's notes section again and publishes the draft. */
export function finalize(tag, dir, name) {
  const { current, models, files, body } = verifyRelease(tag, dir, name)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'publish-'))
  try {
    const bodyFile = path.join(tmp, 'notes.md')
    writeFileSync(bodyFile, body)
    const args = ['release', 'edit', '--notes-file', bodyFile]
    if (current.isDraft) args.push('--draft=false')
    gh([...args, '--', tag])
    return { models, count: files.filter(f => f.gguf).length, published: current.isDraft }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

const OPTIONS = ['checksums', 'name', 'tag', 'notes', 'file', 'subjects', 'attest', 'visibility']

/** `--key value` or `--key=value` pairs; a value that looks like an option is refused. */
export function parseOptions(args) {
  const values = {}
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z]+)(?:=(.*))?$/s.exec(args[i])
    if (!m || !OPTIONS.includes(m[1])) {
      fail(
        `publish.mjs does not know the argument ${quoted(args[i])}; use --${OPTIONS.join(', --')}.`
      )
    }
    let value = m[2]
    if (value === undefined) {
      value = args[++i]
      if (value === undefined || value.startsWith('-')) {
        fail(
          `publish.mjs --${m[1]} has no value${value === undefined ? '' : ` (${quoted(value)} is an option)`}; pass --${m[1]}=VALUE.`
        )
      }
    }
    values[m[1]] = value
  }
  return values
}

function main(argv) {
  const [command, ...args] = argv
  const values = parseOptions(args)
  const option = name => {
    const value = values[name]
    if (value === undefined || value === '') fail(`publish.mjs ${command} needs --${name}.`)
    return value
  }
  const out = process.env.GITHUB_OUTPUT
  if (command === 'plan') {
    const name = checkName(option('name'))
    const tag = checkTag(option('tag'))
    const notesFile = option('notes')
    const p = plan(option('checksums'), name, tag)
    writeFileSync(notesFile, notes(p.manifest, p.files, name))
    const names = p.files.map(f => f.name)
    if (out) appendFileSync(out, `files=${JSON.stringify(names)}\n`)
    console.log(
      logSafe(
        `Publishing ${names.length} GGUF file${names.length === 1 ? '' : 's'}: ${names.join(', ')}`
      )
    )
  } else if (command === 'release') {
    const name = checkName(option('name'))
    const tag = checkTag(option('tag'))
    const how = release(tag, option('notes'), option('checksums'), name)
    console.log(logSafe(`Release ${tag} ${how}.`))
  } else if (command === 'attach') {
    const tag = checkTag(option('tag'))
    const { name, bytes } = attach(tag, option('file'), option('checksums'))
    console.log(logSafe(`Attached ${name} (${formatSize(bytes)}), checksum verified.`))
  } else if (command === 'verify') {
    const tag = checkTag(option('tag'))
    const name = values.name ? checkName(values.name) : null
    const dir = name ? option('checksums') : null
    const attest = attestMode(values.attest ?? 'auto', values.visibility ?? '')
    const r = verifyRelease(tag, dir, name)
    if (attest) writeFileSync(option('subjects'), subjects(r.files))
    if (out) appendFileSync(out, `attest=${attest}\n`)
    const n = r.files.filter(f => f.gguf).length
    const count = `${n} GGUF file${n === 1 ? '' : 's'}`
    console.log(
      logSafe(
        attest
          ? `Release ${tag}: ${count} of ${r.models.join(', ')} verified, to be attested.`
          : `Release ${tag}: ${count} of ${r.models.join(', ')} verified; not attested (attest is ${values.attest ?? 'auto'}${values.attest === 'false' ? '' : ', the repository is not public'}).`
      )
    )
  } else if (command === 'finalize') {
    const tag = checkTag(option('tag'))
    const name = values.name ? checkName(values.name) : null
    const dir = name ? option('checksums') : null
    const r = finalize(tag, dir, name)
    console.log(
      logSafe(
        `Release ${tag}: ${r.count} GGUF file${r.count === 1 ? '' : 's'} of ${r.models.join(', ')} verified${r.published ? ', published' : ' (already published)'}.`
      )
    )
  } else {
    fail(
      `publish.mjs: unknown command ${quoted(command ?? '')}; use plan, release, attach, verify or finalize.`
    )
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2))
  } catch (error) {
    const message =
      error instanceof PublishError
        ? error.message
        : `publish.mjs failed unexpectedly (${error?.message ?? String(error)}); report this with the job's log.`
    // One line: control characters spelt out and command markers broken, as the action's log does.
    console.log(`::error::${logSafe(message).replace(/%/g, '%25')}`)
    process.exit(1)
  }
}
