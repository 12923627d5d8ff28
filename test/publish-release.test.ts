/**
 * publish-release/publish.mjs, run as the composite action runs it, against a fake `gh` on PATH
 * that keeps releases in a folder (notes and attached files), and fake artifacts: a checksums
 * folder (SHA256SUMS + manifest.json) and GGUF files, one of them a 2 GiB sparse file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const SCRIPT = path.resolve(import.meta.dirname, '..', 'publish-release', 'publish.mjs')
const TWO_GIB = 2 ** 31

/** A `gh` that logs its argv and keeps each release as <releases>/<tag>/{notes.md,assets/}. */
const FAKE_GH = `#!/usr/bin/env node
const fs = require('node:fs')
const path = require('node:path')
const args = process.argv.slice(2)
fs.appendFileSync(process.env.FAKE_GH_LOG, JSON.stringify(args) + '\\n')
const [group, verb, tag, ...rest] = args
const dir = path.join(process.env.FAKE_GH_RELEASES, tag ?? '')
const notesFile = () => rest[rest.indexOf('--notes-file') + 1]
if (group !== 'release') process.exit(2)
if (verb === 'view') {
  if (!fs.existsSync(dir)) { console.error('release not found'); process.exit(1) }
  process.stdout.write(fs.readFileSync(path.join(dir, 'notes.md'), 'utf8'))
} else if (verb === 'create') {
  if (fs.existsSync(dir)) { console.error('a release with the same tag name already exists'); process.exit(1) }
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true })
  fs.copyFileSync(notesFile(), path.join(dir, 'notes.md'))
} else if (verb === 'edit') {
  fs.copyFileSync(notesFile(), path.join(dir, 'notes.md'))
} else if (verb === 'upload') {
  const files = rest.filter(a => !a.startsWith('--'))
  for (const f of files) {
    const target = path.join(dir, 'assets', path.basename(f))
    if (fs.existsSync(target) && !rest.includes('--clobber')) { console.error('asset exists'); process.exit(1) }
    fs.copyFileSync(f, target)
  }
} else process.exit(2)
`

let root: string
let bin: string

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'publish-'))
  bin = path.join(root, 'bin')
  await fs.mkdir(bin)
  await fs.writeFile(path.join(bin, 'gh'), FAKE_GH, { mode: 0o755 })
})

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

interface Case {
  dir: string
  checksums: string
  releases: string
  log: string
  output: string
}

/** A checksums folder as the action's `<name>-checksums` artifact holds it, and GGUF files. */
async function artifacts(
  files: Record<string, Buffer>,
  opts: { extraSums?: string; bytes?: Record<string, number> } = {}
): Promise<Case> {
  const dir = await fs.mkdtemp(path.join(root, 'case-'))
  const checksums = path.join(dir, 'checksums')
  await fs.mkdir(path.join(dir, 'gguf'), { recursive: true })
  await fs.mkdir(checksums)
  const lines = ['0'.repeat(64) + '  model-mlx/model.safetensors']
  const outputs: unknown[] = [{ name: 'mlx', kind: 'mlx', path: '/w/model', bytes: 5 }]
  for (const [name, data] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, 'gguf', name), data)
    lines.push(`${sha256(data)}  ${name}`)
    outputs.push({
      name: name.replace(/^model-|\.gguf$/g, ''),
      kind: 'gguf',
      path: `/w/model-gguf/${name}`,
      bytes: opts.bytes?.[name] ?? data.length,
      format: `GGUF ${name.replace(/^model-|\.gguf$/g, '')} (llama)`,
      bitsPerWeight: 4.91
    })
  }
  await fs.writeFile(
    path.join(checksums, 'SHA256SUMS'),
    `${lines.join('\n')}\n${opts.extraSums ?? ''}`
  )
  await fs.writeFile(
    path.join(checksums, 'manifest.json'),
    JSON.stringify({ generator: 'mlx-fuse-action', baseModel: 'org/base', outputs })
  )
  const releases = path.join(dir, 'releases')
  await fs.mkdir(releases)
  const output = path.join(dir, 'github-output')
  await fs.writeFile(output, '')
  return { dir, checksums, releases, log: path.join(dir, 'gh.log'), output }
}

function publish(c: Case, ...args: string[]): { code: number; out: string } {
  const r = spawnSync('node', [SCRIPT, ...args, '--checksums', c.checksums, '--name', 'model'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: c.output,
      FAKE_GH_LOG: c.log,
      FAKE_GH_RELEASES: c.releases
    }
  })
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` }
}

const ghCalls = async (c: Case): Promise<string[][]> =>
  (await fs.readFile(c.log, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as string[])

describe('plan', () => {
  it('lists the GGUF files and writes the size table as the notes', async () => {
    const c = await artifacts({
      'model-Q4_K_M.gguf': Buffer.alloc(915_360, 1),
      'model-Q8_0.gguf': Buffer.alloc(1_580_832, 2)
    })
    const notes = path.join(c.dir, 'notes.md')
    const r = publish(c, 'plan', '--notes', notes)
    expect(r).toEqual({
      code: 0,
      out: 'Publishing 2 GGUF files: model-Q4_K_M.gguf, model-Q8_0.gguf\n'
    })
    expect(await fs.readFile(c.output, 'utf8')).toBe(
      'files=["model-Q4_K_M.gguf","model-Q8_0.gguf"]\n'
    )
    const text = await fs.readFile(notes, 'utf8')
    expect(text).toContain(
      `| \`model-Q4_K_M.gguf\` | GGUF Q4\\_K\\_M (llama) | 915.36 kB (893.91 KiB)<br>915,360 bytes | 4.91 | \`${sha256(Buffer.alloc(915_360, 1))}\` |`
    )
    expect(text).toContain('sha256sum -c model-SHA256SUMS --ignore-missing')
    // Nothing was published by planning.
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses a file of 2 GiB or more before anything is downloaded, naming gguf-split', async () => {
    const c = await artifacts(
      { 'model-Q8_0.gguf': Buffer.from('x'), 'model-Q4_K_M.gguf': Buffer.from('y') },
      { bytes: { 'model-Q8_0.gguf': TWO_GIB, 'model-Q4_K_M.gguf': TWO_GIB - 1 } }
    )
    const r = publish(c, 'plan', '--notes', path.join(c.dir, 'notes.md'))
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      "::error::model-Q8_0.gguf (2.15 GB (2.00 GiB)) is not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits GGUF files into shards that fit.\n"
    )
    expect(await fs.readFile(c.output, 'utf8')).toBe('')
  })

  it('refuses more than 1000 assets', async () => {
    const many = Array.from(
      { length: 999 },
      (_, i) => `${sha256(String(i))}  model-Q4_K_M-${String(i + 1).padStart(5, '0')}-of-00999.gguf`
    )
    const c = await artifacts({}, { extraSums: `${many.join('\n')}\n` })
    const r = publish(c, 'plan', '--notes', path.join(c.dir, 'notes.md'))
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^::error::Publishing 999 GGUF files plus SHA256SUMS and manifest\.json makes 1001 assets, over GitHub's 1000 per release/
    )
    const ok = await artifacts({}, { extraSums: `${many.slice(1).join('\n')}\n` })
    expect(publish(ok, 'plan', '--notes', path.join(ok.dir, 'notes.md')).code).toBe(0)
  })

  it('refuses a checksums folder the action did not write', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await fs.writeFile(path.join(c.checksums, 'manifest.json'), '{"generator":"someone"}')
    const r = publish(c, 'plan', '--notes', path.join(c.dir, 'notes.md'))
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/manifest\.json was not written by mlx-fuse-action/)
  })
})

describe('release', () => {
  it('creates the release, then replaces only its own section and assets on a re-run', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') })
    const notes = path.join(c.dir, 'notes.md')
    await fs.writeFile(notes, 'first table\n')
    expect(publish(c, 'release', '--tag', 'v1.0.0', '--notes', notes)).toEqual({
      code: 0,
      out: 'Release v1.0.0 created.\n'
    })
    const releaseDir = path.join(c.releases, 'v1.0.0')
    expect((await fs.readdir(path.join(releaseDir, 'assets'))).sort()).toEqual([
      'model-SHA256SUMS',
      'model-manifest.json'
    ])
    expect(await fs.readFile(path.join(releaseDir, 'assets', 'model-SHA256SUMS'), 'utf8')).toBe(
      await fs.readFile(path.join(c.checksums, 'SHA256SUMS'), 'utf8')
    )
    // A human edits the notes; another model adds its section; this model runs again.
    const body = await fs.readFile(path.join(releaseDir, 'notes.md'), 'utf8')
    await fs.writeFile(path.join(releaseDir, 'notes.md'), `Written by hand.\n\n${body}`)
    await fs.writeFile(notes, 'second table\n')
    expect(publish(c, 'release', '--tag', 'v1.0.0', '--notes', notes).out).toBe(
      'Release v1.0.0 updated.\n'
    )
    expect(await fs.readFile(path.join(releaseDir, 'notes.md'), 'utf8')).toBe(
      'Written by hand.\n\n<!-- mlx-fuse-action:model -->\nsecond table\n<!-- /mlx-fuse-action:model -->\n'
    )
    const calls = await ghCalls(c)
    expect(calls.map(a => a.slice(0, 2).join(' '))).toEqual([
      'release view',
      'release create',
      'release upload',
      'release view',
      'release edit',
      'release upload'
    ])
    expect(calls[2].at(-1)).toBe('--clobber')
  })
})

describe('attach', () => {
  it('verifies the file with sha256sum -c, attaches it byte for byte and deletes it', async () => {
    const data = Buffer.from('a real gguf would be here')
    const c = await artifacts({ 'model-Q4_K_M.gguf': data })
    await fs.mkdir(path.join(c.releases, 'v2', 'assets'), { recursive: true })
    const file = path.join(c.dir, 'gguf', 'model-Q4_K_M.gguf')
    const r = publish(c, 'attach', '--tag', 'v2', '--file', file)
    expect(r).toEqual({
      code: 0,
      out: 'Attached model-Q4_K_M.gguf (25 B), checksum verified.\n'
    })
    expect(await fs.readFile(path.join(c.releases, 'v2', 'assets', 'model-Q4_K_M.gguf'))).toEqual(
      data
    )
    await expect(fs.stat(file)).rejects.toThrow(/ENOENT/)
    expect(await ghCalls(c)).toEqual([['release', 'upload', 'v2', file, '--clobber']])
  })

  it('refuses a file whose bytes differ from SHA256SUMS, attaching nothing', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('original') })
    const file = path.join(c.dir, 'gguf', 'model-Q4_K_M.gguf')
    await fs.writeFile(file, 'tampered')
    const r = publish(c, 'attach', '--tag', 'v2', '--file', file)
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^::error::model-Q4_K_M\.gguf does not match its SHA-256 in SHA256SUMS \(model-Q4_K_M\.gguf: FAILED\); the download is corrupt/
    )
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses a 2 GiB file (sparse here) before hashing or attaching it', async () => {
    const c = await artifacts({ 'model-Q8_0.gguf': Buffer.from('small in the manifest') })
    const file = path.join(c.dir, 'gguf', 'model-Q8_0.gguf')
    await fs.truncate(file, TWO_GIB)
    const r = publish(c, 'attach', '--tag', 'v2', '--file', file)
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      "::error::model-Q8_0.gguf is 2.15 GB (2.00 GiB), not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits it.\n"
    )
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses a file the run did not make', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const stranger = path.join(c.dir, 'gguf', 'other.gguf')
    await fs.writeFile(stranger, 'x')
    const r = publish(c, 'attach', '--tag', 'v2', '--file', stranger)
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/other\.gguf is not listed in SHA256SUMS/)
    expect(await ghCalls(c)).toEqual([])
  })
})
