/**
 * publish-release/publish.mjs, run as the composite action runs it, against a fake `gh` on PATH
 * (test/fixtures/fake-gh.mjs: releases, drafts, immutability, assets with digests, kept in a
 * folder) and fake artifacts: a checksums folder (SHA256SUMS + manifest.json) and GGUF files, one
 * of them a 2 GiB sparse file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { sumsText } from '../src/artifacts/sums.js'

const SCRIPT =
  process.env.PUBLISH_SCRIPT ??
  path.resolve(import.meta.dirname, '..', 'publish-release', 'publish.mjs')
const FAKE_GH = path.resolve(import.meta.dirname, 'fixtures', 'fake-gh.mjs')
const TWO_GIB = 2 ** 31
const COMMIT = 'c0ffee'.padEnd(40, '0')

let root: string
let bin: string

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'publish-'))
  bin = path.join(root, 'bin')
  await fs.mkdir(bin)
  await fs.writeFile(path.join(bin, 'gh'), `#!/bin/sh\nexec node ${FAKE_GH} "$@"\n`, {
    mode: 0o755
  })
})

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

interface Case {
  dir: string
  checksums: string
  gguf: string
  state: string
  output: string
  tmp: string
}

interface Asset {
  name: string
  size: number
  digest: string | null
}
interface Release {
  id: number
  tag: string
  draft: boolean
  immutable: boolean
  target: string
  body: string
  assets: Asset[]
}

/** A checksums folder as the action's `<name>-checksums` artifact holds it, and GGUF files. */
async function artifacts(
  files: Record<string, Buffer>,
  opts: {
    extraSums?: string
    /** Small files of the checksums folder (Modelfiles, README.md), listed in SHA256SUMS. */
    extras?: Record<string, string>
    bytes?: Record<string, number>
    name?: string
    state?: string
    runCommit?: string | null
  } = {}
): Promise<Case> {
  const dir = await fs.mkdtemp(path.join(root, 'case-'))
  const name = opts.name ?? 'model'
  const checksums = path.join(dir, `${name}-checksums`)
  const gguf = path.join(dir, 'gguf')
  await fs.mkdir(gguf, { recursive: true })
  await fs.mkdir(checksums)
  const lines = ['0'.repeat(64) + `  ${name}-mlx/model.safetensors`]
  const outputs: unknown[] = [{ name: 'mlx', kind: 'mlx', path: '/w/model', bytes: 5 }]
  for (const [file, data] of Object.entries(files)) {
    await fs.writeFile(path.join(gguf, file), data)
    lines.push(`${sha256(data)}  ${file}`)
    const type = file.replace(/^.*-|\.gguf$/g, '')
    outputs.push({
      name: type,
      kind: 'gguf',
      path: `/w/model-gguf/${file}`,
      bytes: opts.bytes?.[file] ?? data.length,
      format: `GGUF ${type} (llama)`,
      bitsPerWeight: 4.91
    })
  }
  for (const [file, text] of Object.entries(opts.extras ?? {})) {
    await fs.writeFile(path.join(checksums, file), text)
    lines.push(`${sha256(text)}  ${name}-checksums/${file}`)
  }
  await fs.writeFile(
    path.join(checksums, 'SHA256SUMS'),
    `${lines.join('\n')}\n${opts.extraSums ?? ''}`
  )
  const manifest: Record<string, unknown> = {
    generator: 'mlx-fuse-action',
    baseModel: 'org/base',
    outputs
  }
  if (opts.runCommit !== null) manifest.runCommit = opts.runCommit ?? COMMIT
  await fs.writeFile(path.join(checksums, 'manifest.json'), JSON.stringify(manifest))
  const state = opts.state ?? path.join(dir, 'gh-state')
  await fs.mkdir(state, { recursive: true })
  const output = path.join(dir, 'github-output')
  await fs.writeFile(output, '')
  const tmp = path.join(dir, 'tmp')
  await fs.mkdir(tmp)
  return { dir, checksums, gguf, state, output, tmp }
}

const envOf = (c: Case, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${bin}:${process.env.PATH}`,
  GITHUB_OUTPUT: c.output,
  FAKE_GH_STATE: c.state,
  TMPDIR: c.tmp,
  ...extra
})

/** publish.mjs COMMAND with --checksums and --name of the case (unless given), as the composite runs it. */
function publish(
  c: Case,
  args: string[],
  extra: Record<string, string> = {}
): { code: number; out: string } {
  const r = spawnSync('node', [SCRIPT, ...args], { encoding: 'utf8', env: envOf(c, extra) })
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` }
}

const model = (c: Case, name = 'model'): string[] => ['--checksums', c.checksums, '--name', name]

const ghCalls = async (c: Case): Promise<string[][]> =>
  (await fs.readFile(path.join(c.state, 'calls.log'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as string[])

/** Calls that change a release (anything but list, view and download). */
const writes = async (c: Case): Promise<string[][]> =>
  (await ghCalls(c)).filter(a => !['list', 'view', 'download'].includes(a[1]))

const releases = async (c: Case): Promise<Release[]> =>
  JSON.parse(
    await fs.readFile(path.join(c.state, 'releases.json'), 'utf8').catch(() => '[]')
  ) as Release[]

/** A release already in the fake's state. */
async function seed(c: Case, ...list: Array<Partial<Release>>): Promise<void> {
  const all = list.map((r, i) => ({
    id: i + 1,
    tag: 'v1',
    draft: true,
    immutable: false,
    target: 'main',
    body: '',
    assets: [],
    ...r
  }))
  await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
}

const notesFile = (c: Case): string => path.join(c.dir, 'notes.md')

describe('plan', () => {
  it('lists the GGUF files and writes the size table as the notes, changing nothing', async () => {
    const c = await artifacts({
      'model-Q4_K_M.gguf': Buffer.alloc(915_360, 1),
      'model-Q8_0.gguf': Buffer.alloc(1_580_832, 2)
    })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r).toEqual({
      code: 0,
      out: 'Publishing 2 GGUF files: model-Q4_K_M.gguf, model-Q8_0.gguf\n'
    })
    expect(await fs.readFile(c.output, 'utf8')).toBe(
      'files=["model-Q4_K_M.gguf","model-Q8_0.gguf"]\n'
    )
    const text = await fs.readFile(notesFile(c), 'utf8')
    expect(text).toContain(
      `| \`model-Q4_K_M.gguf\` | GGUF Q4\\_K\\_M (llama) | 915.36 kB (893.91 KiB)<br>915,360 bytes | 4.91 | \`${sha256(Buffer.alloc(915_360, 1))}\` |`
    )
    expect(text).toContain('`sha256sum -c model-SHA256SUMS --ignore-missing`')
    // Planning only reads the release of the tag.
    expect(await writes(c)).toEqual([])
  })

  it('refuses a file of 2 GiB or more before anything is downloaded, naming gguf-split', async () => {
    const c = await artifacts(
      { 'model-Q8_0.gguf': Buffer.from('x'), 'model-Q4_K_M.gguf': Buffer.from('y') },
      { bytes: { 'model-Q8_0.gguf': TWO_GIB, 'model-Q4_K_M.gguf': TWO_GIB - 1 } }
    )
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      "::error::model-Q8_0.gguf (2.15 GB (2.00 GiB)) is not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits GGUF files into shards that fit.\n"
    )
    expect(await fs.readFile(c.output, 'utf8')).toBe('')
  })

  const shards = (n: number, from = 0): string =>
    Array.from(
      { length: n },
      (_, i) =>
        `${sha256(String(i + from))}  model-Q4_K_M-${String(i + from + 1).padStart(5, '0')}-of-01000.gguf`
    ).join('\n') + '\n'

  it('refuses more shards than one matrix can expand to (256 jobs)', async () => {
    const c = await artifacts({}, { extraSums: shards(300) })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      '::error::Publishing 300 GGUF files needs 300 attach jobs, over the 256 jobs one matrix can expand to; set a larger gguf-split so there are fewer shards, or publish fewer types.\n'
    )
    const ok = await artifacts({}, { extraSums: shards(256) })
    expect(publish(ok, ['plan', '--tag', 'v1', '--notes', notesFile(ok), ...model(ok)]).code).toBe(
      0
    )
  })

  it('counts the assets already on the release against the 1000-asset limit', async () => {
    const other = (n: number): Asset[] =>
      Array.from({ length: n }, (_, i) => ({ name: `other-${i}.gguf`, size: 1, digest: null }))
    const c = await artifacts({}, { extraSums: shards(200) })
    // This model's own assets of an earlier run are replaced, not added.
    await seed(c, { assets: [...other(799), { name: 'model-SHA256SUMS', size: 1, digest: null }] })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      "::error::Publishing 200 GGUF files plus model-SHA256SUMS and model-manifest.json makes 1001 assets with the 799 already on release v1, over GitHub's 1000 per release; publish fewer types, a larger gguf-split so there are fewer shards, or use another tag.\n"
    )
    await seed(c, { assets: other(798) })
    expect(publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)]).code).toBe(0)
  })

  it('refuses a release that is already published and immutable, before any download', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await seed(c, { draft: false, immutable: true })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r).toEqual({
      code: 1,
      out: '::error::Release v1 is already published and immutable, so no asset can be added to it; publish to a new tag.\n'
    })
    expect(await fs.readFile(c.output, 'utf8')).toBe('')
  })

  it('refuses a tag with several drafts, since gh would change one of them at random', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await seed(c, {}, {})
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r).toEqual({
      code: 1,
      out: '::error::Tag v1 has 2 releases (2 of them drafts), so gh cannot tell which one to change; delete the extra drafts of v1 on the Releases page, then run again.\n'
    })
  })

  it('asks for a newer gh when this one cannot tell an immutable release', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)], {
      FAKE_GH_OLD: '1'
    })
    expect(r).toEqual({
      code: 1,
      out: '::error::gh release list failed with exit code 1 (Unknown JSON field: "isImmutable"); update the GitHub CLI to one whose release commands report isImmutable and asset digests.\n'
    })
  })

  it('refuses a checksums folder the action did not write', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await fs.writeFile(path.join(c.checksums, 'manifest.json'), '{"generator":"someone"}')
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/manifest\.json was not written by mlx-fuse-action/)
  })

  it('says in one sentence that a manifest path is not a string (no stack trace)', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const file = path.join(c.checksums, 'manifest.json')
    await fs.writeFile(
      file,
      JSON.stringify({
        generator: 'mlx-fuse-action',
        outputs: [{ kind: 'gguf', path: 42, bytes: 1 }]
      })
    )
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r).toEqual({
      code: 1,
      out: `::error::${file} output 1 has a GGUF entry without a string path and a byte count; it was not written by this action: download the checksums artifact again.\n`
    })
  })
})

describe('release', () => {
  it('creates a draft on the commit the fuse ran on, then replaces only its own section', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') })
    await fs.writeFile(notesFile(c), 'first table\n')
    expect(
      publish(c, ['release', '--tag', 'v1.0.0', '--notes', notesFile(c), ...model(c)])
    ).toEqual({
      code: 0,
      out: 'Release v1.0.0 created as a draft.\n'
    })
    let [rel] = await releases(c)
    expect(rel).toMatchObject({ tag: 'v1.0.0', draft: true, target: COMMIT })
    expect(rel.assets.map(a => a.name).sort()).toEqual(['model-SHA256SUMS', 'model-manifest.json'])
    // A human edits the notes; another model adds its section; this model runs again.
    const all = await releases(c)
    all[0].body = `Written by hand.\n\n${all[0].body}`
    await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
    await fs.writeFile(notesFile(c), 'second table\n')
    expect(
      publish(c, ['release', '--tag', 'v1.0.0', '--notes', notesFile(c), ...model(c)]).out
    ).toBe('Release v1.0.0 updated.\n')
    ;[rel] = await releases(c)
    expect(rel.body).toBe(
      'Written by hand.\n\n<!-- mlx-fuse-action:model -->\nsecond table\n<!-- /mlx-fuse-action:model -->\n'
    )
    // The tag and files reach gh only after `--`, so none can be read as an option.
    const changing = await writes(c)
    expect(changing.map(a => a.slice(0, 2).join(' '))).toEqual([
      'release create',
      'release upload',
      'release edit',
      'release upload'
    ])
    for (const call of changing) expect(call[call.indexOf('--') + 1]).toBe('v1.0.0')
    expect(changing[0]).toEqual(expect.arrayContaining(['--draft', '--target', COMMIT]))
  })

  it('attaches the Modelfiles and the model card the checksums artifact holds, each checked against SHA256SUMS', async () => {
    const text = 'FROM ./model-Q4_K_M.gguf\nPARAMETER stop "</s>"\n'
    const card = '---\nlibrary_name: mlx\n---\n# model\n'
    const c = await artifacts(
      { 'model-Q4_K_M.gguf': Buffer.from('q4') },
      { extras: { 'model-Q4_K_M.Modelfile': text, 'README.md': card } }
    )
    await fs.writeFile(notesFile(c), 'table\n')
    expect(publish(c, ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c)]).code).toBe(
      0
    )
    const [rel] = await releases(c)
    expect(rel.assets.map(a => a.name).sort()).toEqual([
      'model-Q4_K_M.Modelfile',
      'model-README.md',
      'model-SHA256SUMS',
      'model-manifest.json'
    ])
    // The card is released as NAME-README.md, byte for byte.
    const released = path.join(c.state, 'assets', String(rel.id), 'model-README.md')
    expect(await fs.readFile(released, 'utf8')).toBe(card)
    // A Modelfile or card changed after the run is refused before the release is changed at all.
    for (const [file, changed] of [
      ['model-Q4_K_M.Modelfile', text + '# edited\n'],
      ['README.md', card + 'edited\n']
    ]) {
      const original = await fs.readFile(path.join(c.checksums, file), 'utf8')
      await fs.writeFile(path.join(c.checksums, file), changed)
      const before = (await writes(c)).length
      const again = publish(c, ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
      expect(again.code).toBe(1)
      expect((await writes(c)).length).toBe(before)
      expect(again.out).toContain(
        `${file} in ${c.checksums} does not match its SHA-256 in SHA256SUMS`
      )
      await fs.writeFile(path.join(c.checksums, file), original)
    }
  })

  it('finds its section again in a body that comes back with CRLF line ends', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') })
    await seed(c, { body: 'Written on github.com.\r\n' })
    await fs.writeFile(notesFile(c), 'table\n')
    const r = publish(c, ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c)], {
      FAKE_GH_CRLF: '1'
    })
    expect(r).toEqual({ code: 0, out: 'Release v1 updated.\n' })
    expect((await writes(c)).map(a => a[1])).toEqual(['edit', 'upload'])
  })

  it('refuses to create a release when the manifest records no commit, creating nothing', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') }, { runCommit: null })
    await fs.writeFile(notesFile(c), 'table\n')
    const r = publish(c, ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^::error::manifest\.json records no runCommit .* with this action's current version, which records it\.\n$/
    )
    expect(await writes(c)).toEqual([])
  })

  it('says in one sentence that the notes file is missing (no stack trace)', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') })
    const missing = path.join(c.dir, 'nowhere.md')
    const r = publish(c, ['release', '--tag', 'v1', '--notes', missing, ...model(c)])
    expect(r).toEqual({
      code: 1,
      out: `::error::${missing} cannot be read (ENOENT); run the plan command first; it writes the notes file release reads.\n`
    })
    expect(await ghCalls(c)).toEqual([])
  })

  /** Two `release` commands at once, their gh calls in exactly this order; their outputs. */
  async function interleave(c: Case, order: string[]): Promise<PromiseSettledResult<string>[]> {
    const orderFile = path.join(c.dir, 'order.json')
    await fs.writeFile(orderFile, JSON.stringify(order))
    const run = (actor: string, name: string, checksums: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          'node',
          [SCRIPT, 'release', '--tag', 'v1', '--notes', path.join(c.dir, `${name}.md`)].concat([
            '--checksums',
            checksums,
            '--name',
            name
          ]),
          { env: envOf(c, { FAKE_GH_ACTOR: actor, FAKE_GH_ORDER: orderFile }) }
        )
        let out = ''
        child.stdout.on('data', (d: Buffer) => (out += d.toString()))
        child.on('error', reject)
        child.on('close', code => (code === 0 ? resolve(out) : reject(new Error(out))))
      })
    const b = await artifacts({ 'b-Q8_0.gguf': Buffer.from('b') }, { name: 'b', state: c.state })
    await fs.writeFile(path.join(c.dir, 'a.md'), 'table of a\n')
    await fs.writeFile(path.join(c.dir, 'b.md'), 'table of b\n')
    return Promise.allSettled([run('A', 'a', c.checksums), run('B', 'b', b.checksums)])
  }

  it('keeps both sections when two models write one body at once (read, read, write, write)', async () => {
    const c = await artifacts({ 'a-Q4_K_M.gguf': Buffer.from('a') }, { name: 'a' })
    await seed(c, { body: 'Intro.\n' })
    // Both read the same body; B's write drops A's section; A reads again and puts it back.
    const results = await interleave(c, [
      'A:view',
      'B:view',
      'A:edit',
      'B:edit',
      'A:view',
      'A:edit',
      'B:view'
    ])
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'fulfilled'])
    const [rel] = await releases(c)
    expect(rel.body).toContain(
      '<!-- mlx-fuse-action:a -->\ntable of a\n<!-- /mlx-fuse-action:a -->'
    )
    expect(rel.body).toContain(
      '<!-- mlx-fuse-action:b -->\ntable of b\n<!-- /mlx-fuse-action:b -->'
    )
    expect(rel.body.startsWith('Intro.\n')).toBe(true)
  })

  it('refuses the second draft two publications made of one tag at the same time', async () => {
    const c = await artifacts({ 'a-Q4_K_M.gguf': Buffer.from('a') }, { name: 'a' })
    // Both find no release of v1, both create a draft, and only then both list again: without the
    // last two entries A's second list could run before B's create, and the test would race.
    const results = await interleave(c, [
      'A:list',
      'B:list',
      'A:create',
      'B:create',
      'A:list',
      'B:list'
    ])
    expect(await releases(c)).toHaveLength(2)
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toEqual(
        new Error(
          '::error::Tag v1 has 2 releases (2 of them drafts), so gh cannot tell which one to change; delete the extra drafts of v1 on the Releases page, then run again.\n'
        )
      )
    }
    // Neither wrote to either draft after making it.
    expect((await writes(c)).map(a => a[1])).toEqual(['create', 'create'])
  })
})

describe('attach', () => {
  it('verifies the file with sha256sum -c, attaches it byte for byte and deletes it', async () => {
    const data = Buffer.from('a real gguf would be here')
    const c = await artifacts({ 'model-Q4_K_M.gguf': data })
    await seed(c, { tag: 'v2' })
    const file = path.join(c.gguf, 'model-Q4_K_M.gguf')
    const r = publish(c, ['attach', '--tag', 'v2', '--file', file, '--checksums', c.checksums])
    expect(r).toEqual({
      code: 0,
      out: 'Attached model-Q4_K_M.gguf (25 B), checksum verified.\n'
    })
    expect(await fs.readFile(path.join(c.state, 'assets', '1', 'model-Q4_K_M.gguf'))).toEqual(data)
    await expect(fs.stat(file)).rejects.toThrow(/ENOENT/)
    expect(await ghCalls(c)).toEqual([['release', 'upload', '--clobber', '--', 'v2', file]])
  })

  it('refuses a file whose bytes differ from SHA256SUMS, attaching nothing', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('original') })
    const file = path.join(c.gguf, 'model-Q4_K_M.gguf')
    await fs.writeFile(file, 'tampered')
    const r = publish(c, ['attach', '--tag', 'v2', '--file', file, '--checksums', c.checksums])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^::error::model-Q4_K_M\.gguf does not match its SHA-256 in SHA256SUMS \(model-Q4_K_M\.gguf: FAILED\); the download is corrupt/
    )
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses a 2 GiB file (sparse here) before hashing or attaching it', async () => {
    const c = await artifacts({ 'model-Q8_0.gguf': Buffer.from('small in the manifest') })
    const file = path.join(c.gguf, 'model-Q8_0.gguf')
    await fs.truncate(file, TWO_GIB)
    const r = publish(c, ['attach', '--tag', 'v2', '--file', file, '--checksums', c.checksums])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      "::error::model-Q8_0.gguf is 2.15 GB (2.00 GiB), not under GitHub's 2 GiB release-asset limit; set gguf-split (for example gguf-split: 1900MB) so the action splits it.\n"
    )
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses a file the run did not make', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const stranger = path.join(c.gguf, 'other.gguf')
    await fs.writeFile(stranger, 'x')
    const r = publish(c, ['attach', '--tag', 'v2', '--file', stranger, '--checksums', c.checksums])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/other\.gguf is not listed in SHA256SUMS/)
    expect(await ghCalls(c)).toEqual([])
  })

  it('prints a forged workflow command in a file name as text', async () => {
    const forged = 'model##[error]FORGED::warning::x-Q4_K_M.gguf'
    const c = await artifacts({ [forged]: Buffer.from('x') })
    await seed(c, { tag: 'v2' })
    const file = path.join(c.gguf, forged)
    const r = publish(c, ['attach', '--tag', 'v2', '--file', file, '--checksums', c.checksums])
    expect(r.code).toBe(0)
    expect(r.out).not.toContain('##[')
    expect(r.out).not.toContain('::')
    expect(r.out).toBe(
      'Attached model#\u2060#[error]FORGED:\u2060:warning:\u2060:x-Q4_K_M.gguf (1 B), checksum verified.\n'
    )
  })
})

describe('a whole publication, with immutable releases', () => {
  /** plan, release, attach each file, as publish-release.yml runs them for one model. */
  function publishModel(c: Case, name: string, extra: Record<string, string>): void {
    const steps = [
      ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c, name)],
      ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c, name)]
    ]
    for (const args of steps) expect(publish(c, args, extra)).toMatchObject({ code: 0 })
    const planned = /files=(.*)\n/.exec(readFileSync(c.output, 'utf8'))
    const files = JSON.parse(planned?.[1] ?? '[]') as string[]
    for (const f of files) {
      const r = publish(
        c,
        ['attach', '--tag', 'v1', '--file', path.join(c.gguf, f), '--checksums', c.checksums],
        extra
      )
      expect(r).toMatchObject({ code: 0 })
    }
  }

  it('attaches everything to a draft, checks it, then publishes it, immutable', async () => {
    const immutable = { FAKE_GH_IMMUTABLE: '1' }
    const q4 = Buffer.from('q4 bytes')
    const q8 = Buffer.from('q8 bytes, more of them')
    const c = await artifacts({ 'model-Q4_K_M.gguf': q4, 'model-Q8_0.gguf': q8 })
    publishModel(c, 'model', immutable)
    const r = publish(c, ['finalize', '--tag', 'v1', ...model(c)], immutable)
    expect(r).toEqual({ code: 0, out: 'Release v1: 2 GGUF files of model verified, published.\n' })
    const [rel] = await releases(c)
    expect(rel).toMatchObject({ draft: false, immutable: true, target: COMMIT })
    expect(rel.assets.map(a => [a.name, a.size, a.digest]).sort()).toEqual(
      expect.arrayContaining([
        ['model-Q4_K_M.gguf', q4.length, `sha256:${sha256(q4)}`],
        ['model-Q8_0.gguf', q8.length, `sha256:${sha256(q8)}`]
      ])
    )
    expect(rel.body).toContain('<!-- mlx-fuse-action:model -->')
    // Published and immutable: a new run is refused in its plan, before any download.
    const again = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(again.out).toMatch(/^::error::Release v1 is already published and immutable/)
  })

  it('reuses the one draft on a re-run (attempt 2), replacing the assets of the first attempt', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('first attempt') })
    publishModel(c, 'model', { FAKE_GH_IMMUTABLE: '1' })
    // The run is re-run: the fuse made other bytes, the draft of attempt 1 is still there.
    const again = await artifacts(
      { 'model-Q4_K_M.gguf': Buffer.from('second, longer attempt') },
      {
        state: c.state
      }
    )
    publishModel(again, 'model', { FAKE_GH_IMMUTABLE: '1' })
    const r = publish(again, ['finalize', '--tag', 'v1', ...model(again)], {
      FAKE_GH_IMMUTABLE: '1'
    })
    expect(r).toEqual({ code: 0, out: 'Release v1: 1 GGUF file of model verified, published.\n' })
    const all = await releases(c)
    expect(all).toHaveLength(1)
    expect(all[0].assets.find(a => a.name === 'model-Q4_K_M.gguf')).toEqual({
      name: 'model-Q4_K_M.gguf',
      size: 22,
      digest: `sha256:${sha256('second, longer attempt')}`
    })
  })

  it('refuses to publish a draft whose asset size or digest differs from the run', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4 bytes') })
    publishModel(c, 'model', {})
    const all = await releases(c)
    const asset = all[0].assets.find(a => a.name === 'model-Q4_K_M.gguf')!
    asset.digest = `sha256:${'f'.repeat(64)}`
    await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
    const r = publish(c, ['finalize', '--tag', 'v1', ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^::error::model-Q4_K_M\.gguf on release v1 has digest sha256:f{64}, not the sha256:[0-9a-f]{64} of model-SHA256SUMS/
    )
    asset.digest = null
    asset.size = 3
    await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
    expect(publish(c, ['finalize', '--tag', 'v1', ...model(c)]).out).toMatch(
      /^::error::model-Q4_K_M\.gguf on release v1 is 3 bytes, not the 8 of model-manifest\.json/
    )
    expect((await releases(c))[0].draft).toBe(true)
  })

  it('checks the Modelfile and the card on the draft by their bytes, and attests them with the GGUF file', async () => {
    const text = 'FROM ./model-Q4_K_M.gguf\n'
    const card = '# model\n'
    const q4 = Buffer.from('q4 bytes')
    const c = await artifacts(
      { 'model-Q4_K_M.gguf': q4 },
      { extras: { 'model-Q4_K_M.Modelfile': text, 'README.md': card } }
    )
    publishModel(c, 'model', {})
    const subjectsFile = path.join(c.dir, 'subjects.txt')
    const args = ['verify', '--tag', 'v1', '--subjects', subjectsFile, '--attest', 'true']
    expect(publish(c, [...args, ...model(c)])).toEqual({
      code: 0,
      out: 'Release v1: 1 GGUF file of model verified, to be attested.\n'
    })
    expect(readFileSync(subjectsFile, 'utf8')).toBe(
      `${sha256(q4)}  model-Q4_K_M.gguf\n${sha256(text)}  model-Q4_K_M.Modelfile\n${sha256(card)}  model-README.md\n`
    )
    // The card on the draft replaced by other bytes (the fake keeps no digest for it): refused.
    const all = await releases(c)
    const asset = all[0].assets.find(a => a.name === 'model-README.md')!
    asset.digest = null
    await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
    await fs.writeFile(
      path.join(c.state, 'assets', String(all[0].id), 'model-README.md'),
      '# forged\n'
    )
    const r = publish(c, ['finalize', '--tag', 'v1', ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).toBe(
      `::error::model-README.md on release v1 has SHA-256 ${sha256('# forged\n')}, not the ${sha256(card)} of model-SHA256SUMS; run the publication of model again.\n`
    )
    expect((await releases(c))[0].draft).toBe(true)
    // The Modelfile missing from the draft: refused, naming it.
    all[0].assets = all[0].assets.filter(a => a.name !== 'model-Q4_K_M.Modelfile')
    await fs.writeFile(path.join(c.state, 'releases.json'), JSON.stringify(all))
    expect(publish(c, ['finalize', '--tag', 'v1', ...model(c)]).out).toMatch(
      /^::error::Release v1 lacks model-Q4_K_M\.Modelfile, listed in model-SHA256SUMS/
    )
  })

  it('publishes several models to one tag with one last finalize, every section in the notes', async () => {
    const a = await artifacts({ 'a-Q4_K_M.gguf': Buffer.from('a') }, { name: 'a' })
    const b = await artifacts({ 'b-Q4_K_M.gguf': Buffer.from('bb') }, { name: 'b', state: a.state })
    publishModel(a, 'a', { FAKE_GH_IMMUTABLE: '1' })
    publishModel(b, 'b', { FAKE_GH_IMMUTABLE: '1' })
    // A stale writer dropped a's section: the last call writes every model's section again.
    const all = await releases(a)
    all[0].body = all[0].body.replace(
      /<!-- mlx-fuse-action:a -->[^]*?<!-- \/mlx-fuse-action:a -->/,
      ''
    )
    await fs.writeFile(path.join(a.state, 'releases.json'), JSON.stringify(all))
    const r = publish(a, ['finalize', '--tag', 'v1'], { FAKE_GH_IMMUTABLE: '1' })
    expect(r).toEqual({ code: 0, out: 'Release v1: 2 GGUF files of a, b verified, published.\n' })
    const [rel] = await releases(a)
    expect(rel).toMatchObject({ draft: false, immutable: true })
    expect(rel.body).toContain('`a-Q4_K_M.gguf`')
    expect(rel.body).toContain('`b-Q4_K_M.gguf`')
    expect(rel.assets).toHaveLength(6)
  })
})

describe('hostile arguments', () => {
  it('refuses tags gh would read as options, calling gh for none', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await fs.writeFile(notesFile(c), 'table\n')
    for (const tag of ['--repo=evil/other', '-R', '--help', 'a..b', 'v 1']) {
      const r = publish(c, ['release', `--tag=${tag}`, '--notes', notesFile(c), ...model(c)])
      expect(r).toEqual({
        code: 1,
        out: `::error::The tag ${JSON.stringify(tag)} is not a tag name gh and git accept; use a tag such as v1.2.0 (no leading "-", no spaces, ":" or "..").\n`
      })
    }
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses an option where a value belongs (--name --notes)', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const r = publish(c, ['release', '--tag', 'v1', '--name', '--notes', notesFile(c)])
    expect(r).toEqual({
      code: 1,
      out: '::error::publish.mjs --name has no value ("--notes" is an option); pass --name=VALUE.\n'
    })
    expect(await ghCalls(c)).toEqual([])
  })

  it('refuses names that leave the temporary folder or close the notes marker', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    await fs.writeFile(notesFile(c), 'table\n')
    for (const name of ['../x', 'a--><img src=x onerror=alert(1)>', 'model##[error]FORGED']) {
      const r = publish(c, [
        'release',
        '--tag',
        'v1',
        '--notes',
        notesFile(c),
        '--checksums',
        c.checksums,
        '--name',
        name
      ])
      expect(r.code).toBe(1)
      expect(r.out).toMatch(/^::error::The artifact name ".*" cannot name release assets/)
      expect(r.out).not.toContain('##[')
    }
    expect(await ghCalls(c)).toEqual([])
    // Nothing was written beside the temporary folders.
    expect(await fs.readdir(path.dirname(c.tmp))).not.toContain('x-SHA256SUMS')
    expect(await fs.readdir(c.tmp)).toEqual([])
  })

  it('refuses a forged name in SHA256SUMS in plan, printing it as text', async () => {
    const c = await artifacts({ 'model##[error]FORGED-Q4_K_M.gguf': Buffer.from('x') })
    const r = publish(c, ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)])
    expect(r.code).toBe(1)
    expect(r.out).not.toContain('##[')
    expect(r.out).toMatch(/^::error::SHA256SUMS lists "model#\u2060#\[error\]FORGED-Q4_K_M\.gguf"/)
  })
})

describe('verify: the subjects of the provenance attestation', () => {
  it('writes every verified GGUF file of every model in sha256sum format, changing nothing', async () => {
    const a = await artifacts(
      { 'a-Q4_K_M.gguf': Buffer.from('a4'), 'a-Q8_0.gguf': Buffer.from('a8!') },
      { name: 'a' }
    )
    const b = await artifacts(
      { 'b-Q4_K_M.gguf': Buffer.from('bbb') },
      { name: 'b', state: a.state }
    )
    for (const [c, name] of [
      [a, 'a'],
      [b, 'b']
    ] as const) {
      for (const args of [
        ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c, name)],
        ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c, name)]
      ])
        expect(publish(c, args)).toMatchObject({ code: 0 })
      for (const f of await fs.readdir(c.gguf))
        expect(
          publish(c, [
            'attach',
            '--tag',
            'v1',
            '--file',
            path.join(c.gguf, f),
            '--checksums',
            c.checksums
          ])
        ).toMatchObject({ code: 0 })
    }
    const before = (await writes(a)).length
    const subjectsFile = path.join(a.dir, 'subjects.txt')
    const r = publish(a, ['verify', '--tag', 'v1', '--subjects', subjectsFile, '--attest', 'true'])
    expect(r).toEqual({
      code: 0,
      out: 'Release v1: 3 GGUF files of a, b verified, to be attested.\n'
    })
    expect(readFileSync(subjectsFile, 'utf8')).toBe(
      `${sha256('a4')}  a-Q4_K_M.gguf\n${sha256('a8!')}  a-Q8_0.gguf\n${sha256('bbb')}  b-Q4_K_M.gguf\n`
    )
    expect(readFileSync(a.output, 'utf8')).toMatch(/attest=true\n$/)
    expect((await writes(a)).length).toBe(before)
    expect((await releases(a))[0].draft).toBe(true)
  })

  it('attests in public repositories only when attest is auto, and refuses other values', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('q4') })
    for (const args of [
      ['plan', '--tag', 'v1', '--notes', notesFile(c), ...model(c)],
      ['release', '--tag', 'v1', '--notes', notesFile(c), ...model(c)],
      [
        'attach',
        '--tag',
        'v1',
        '--file',
        path.join(c.gguf, 'model-Q4_K_M.gguf'),
        '--checksums',
        c.checksums
      ]
    ])
      expect(publish(c, args)).toMatchObject({ code: 0 })
    const subjectsFile = path.join(c.dir, 'subjects.txt')
    const verify = (attest: string, visibility: string): { code: number; out: string } =>
      publish(c, [
        'verify',
        '--tag',
        'v1',
        ...model(c),
        '--subjects',
        subjectsFile,
        '--attest',
        attest,
        '--visibility',
        visibility
      ])
    expect(verify('auto', 'private')).toEqual({
      code: 0,
      out: 'Release v1: 1 GGUF file of model verified; not attested (attest is auto, the repository is not public).\n'
    })
    await expect(fs.stat(subjectsFile)).rejects.toThrow(/ENOENT/)
    expect(verify('false', 'public').out).toContain('not attested (attest is false)')
    await expect(fs.stat(subjectsFile)).rejects.toThrow(/ENOENT/)
    expect(verify('auto', 'public').code).toBe(0)
    expect(readFileSync(subjectsFile, 'utf8')).toBe(`${sha256('q4')}  model-Q4_K_M.gguf\n`)
    expect(readFileSync(c.output, 'utf8').match(/attest=\w+/g)).toEqual([
      'attest=false',
      'attest=false',
      'attest=true'
    ])
    expect(verify('yes', 'public')).toEqual({
      code: 1,
      out: '::error::Input attest of publish-release.yml must be auto, true or false.\n'
    })
  })
})

describe('the workflow and its examples', () => {
  const ROOT = path.resolve(import.meta.dirname, '..')
  type Yaml = Record<string, unknown>
  const read = (file: string): Yaml =>
    parseYaml(readFileSync(path.join(ROOT, file), 'utf8')) as Yaml
  const jobs = (file: string): Record<string, Yaml> => read(file).jobs as Record<string, Yaml>

  it('has publish-release.yml verify and publish last, unless finalize is false', () => {
    const workflow = read('.github/workflows/publish-release.yml')
    const inputs = ((workflow.on as Yaml).workflow_call as Yaml).inputs as Record<string, Yaml>
    expect(inputs.finalize).toMatchObject({ type: 'boolean', default: true })
    const finalize = jobs('.github/workflows/publish-release.yml').finalize
    expect(finalize.needs).toEqual(['plan', 'attach'])
    expect(String(finalize.if)).toContain('inputs.finalize')
    const steps = finalize.steps as Array<{ id?: string; if?: string; uses?: string; with?: Yaml }>
    expect(steps.at(-1)?.with?.command).toBe('finalize')
  })

  it('attests the verified files before publishing, with the pinned actions/attest and its permissions', () => {
    const workflow = read('.github/workflows/publish-release.yml')
    const inputs = ((workflow.on as Yaml).workflow_call as Yaml).inputs as Record<string, Yaml>
    expect(inputs.attest).toMatchObject({ type: 'string', default: 'auto' })
    const finalize = jobs('.github/workflows/publish-release.yml').finalize
    // actions/attest v4.2.2 README.md, "Usage": the three scopes it needs.
    expect(finalize.permissions).toEqual({
      contents: 'write',
      'id-token': 'write',
      attestations: 'write',
      'artifact-metadata': 'write'
    })
    const steps = finalize.steps as Array<{
      id?: string
      if?: string
      uses?: string
      run?: string
      with?: Yaml
    }>
    const at = (pred: (s: (typeof steps)[number]) => boolean): number => steps.findIndex(pred)
    const verify = at(s => s.with?.command === 'verify')
    const attest = at(s => s.id === 'attest')
    const refused = at(s => String(s.if).includes("steps.attest.outcome == 'failure'"))
    const publishStep = at(s => s.with?.command === 'finalize')
    expect([verify, attest, refused, publishStep].every(i => i >= 0)).toBe(true)
    expect(verify < attest && attest < refused && refused < publishStep).toBe(true)
    expect(steps[verify]).toMatchObject({
      id: 'verify',
      with: { subjects: 'subjects.txt', attest: '${{ inputs.attest }}' }
    })
    expect(steps[attest]).toMatchObject({
      if: "steps.verify.outputs.attest == 'true'",
      uses: 'actions/attest@1e69f48acb82d1966a394da916b4c1698aa569d6',
      with: { 'subject-checksums': 'subjects.txt' }
    })
    expect(steps[refused].run).toContain('need GitHub Enterprise Cloud')
  })

  it('triggers the release examples on a pushed tag, and publishes several models once', () => {
    for (const file of ['docs/examples/release.yml', 'docs/examples/matrix-release.yml']) {
      expect(Object.keys(read(file).on as Yaml)).toEqual(['push'])
    }
    const matrix = jobs('docs/examples/matrix-release.yml')
    expect((matrix.publish.with as Yaml).finalize).toBe(false)
    expect(matrix.release).toMatchObject({
      needs: 'publish',
      uses: 'your-org/mlx-fuse-action/.github/workflows/publish-release.yml@v1',
      with: { 'artifact-name': '' }
    })
  })
})

describe('the composite step', () => {
  it('passes every input as --option=value, so a value is never read as an option', async () => {
    const c = await artifacts({ 'model-Q4_K_M.gguf': Buffer.from('x') })
    const action = parseYaml(
      readFileSync(path.resolve(import.meta.dirname, '..', 'publish-release', 'action.yml'), 'utf8')
    ) as { runs: { steps: Array<{ run: string }> } }
    const r = spawnSync('bash', ['-e', '-c', action.runs.steps[0].run], {
      encoding: 'utf8',
      env: envOf(c, {
        GITHUB_ACTION_PATH: path.dirname(SCRIPT),
        COMMAND: 'plan',
        CHECKSUMS: c.checksums,
        NAME: '--notes',
        TAG: '-R',
        NOTES: notesFile(c),
        FILE: ''
      })
    })
    expect(`${r.stdout}${r.stderr}`).toBe(
      '::error::The artifact name "--notes" cannot name release assets; use letters, digits, ".", "_" and "-" only, starting with a letter or digit (the artifact-name of fuse.yml).\n'
    )
    expect(await ghCalls(c)).toEqual([])
  })
})

describe("the README's recipe that verifies everything a run uploaded", () => {
  /**
   * The folder actions/download-artifact v8.0.1 fills when it downloads all of a run's artifacts:
   * with no name, no merge-multiple and more than one artifact, each goes to
   * `path.join(resolvedPath, artifact.name)` (src/download-artifact.ts, run()); @actions/artifact
   * 6.2.1, which it bundles, unzips a zip there and writes a raw (skipArchive) artifact as
   * `path.join(directory, fileName)`, fileName the uploaded file's basename from
   * Content-Disposition (lib/internal/download/download-artifact.js, streamExtractExternal).
   */
  async function downloadedRun(name: string, gguf: Buffer): Promise<string> {
    const dir = await fs.mkdtemp(path.join(root, 'download-'))
    const mlx = { 'model.safetensors': Buffer.from('weights'), 'config.json': Buffer.from('{}') }
    const manifest = Buffer.from('{"generator":"mlx-fuse-action"}')
    // The artifacts and their contents, as src/artifacts/upload.ts names them.
    const artifactsOfRun: Record<string, Record<string, Buffer>> = {
      [`${name}-mlx`]: { ...mlx, 'manifest.json': manifest },
      [`${name}-Q4_K_M.gguf`]: { [`${name}-Q4_K_M.gguf`]: gguf }
    }
    const published: Array<[string, string]> = [
      ...Object.entries(mlx).map(([f, data]): [string, string] => [
        sha256(data),
        `${name}-mlx/${f}`
      ]),
      [sha256(gguf), `${name}-Q4_K_M.gguf`],
      [sha256(manifest), `${name}-checksums/manifest.json`]
    ]
    artifactsOfRun[`${name}-checksums`] = {
      SHA256SUMS: Buffer.from(sumsText(published)),
      'manifest.json': manifest
    }
    for (const [artifact, files] of Object.entries(artifactsOfRun)) {
      await fs.mkdir(path.join(dir, artifact))
      for (const [f, data] of Object.entries(files))
        await fs.writeFile(path.join(dir, artifact, f), data)
    }
    return dir
  }

  const recipe = (): string => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '..', 'README.md'), 'utf8')
    const m = /To verify everything a run uploaded[^]*?```sh\n([^]*?)```/.exec(readme)
    expect(m).not.toBeNull()
    return m![1]
  }

  it('passes on what download-artifact v8.0.1 makes of a run, and fails on a changed file', async () => {
    const good = await downloadedRun('fused-model', Buffer.from('gguf bytes'))
    const ok = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', recipe()], {
      cwd: good,
      encoding: 'utf8'
    })
    expect({ code: ok.status, out: ok.stdout }).toEqual({
      code: 0,
      out: [
        'fused-model-mlx/model.safetensors: OK',
        'fused-model-mlx/config.json: OK',
        'fused-model-Q4_K_M.gguf/fused-model-Q4_K_M.gguf: OK',
        'fused-model-checksums/manifest.json: OK',
        ''
      ].join('\n')
    })
    // The plain `sha256sum -c` the README gave before finds a folder where it expects the file.
    const plain = spawnSync('sha256sum', ['-c', 'fused-model-checksums/SHA256SUMS'], {
      cwd: good,
      encoding: 'utf8'
    })
    expect(plain.status).not.toBe(0)
    expect(plain.stderr).toContain('fused-model-Q4_K_M.gguf: Is a directory')
    await fs.writeFile(path.join(good, 'fused-model-Q4_K_M.gguf', 'fused-model-Q4_K_M.gguf'), 'x')
    const bad = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', recipe()], {
      cwd: good,
      encoding: 'utf8'
    })
    expect(bad.status).not.toBe(0)
    expect(bad.stdout).toContain('fused-model-Q4_K_M.gguf/fused-model-Q4_K_M.gguf: FAILED')
  })
})
