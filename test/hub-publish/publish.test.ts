/**
 * Publishing to the Hugging Face Hub: run() in-process (the core fixture) with the mlx_lm stand-in,
 * and the real @huggingface/hub client against the loopback fake of the Hub (test/fixtures/hub.ts,
 * HF_ENDPOINT), which records what it received: repository and branch creation, the LFS batches,
 * the uploads and the commits. The fake answers the plain LFS transfers (basic, multipart), never
 * Xet: the client's Xet upload path is not tested here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import * as core from '../__fixtures__/core.js'
import { readFolder, startFakeHub, type FakeHub } from '../fixtures/hub.js'
import { makeTinySetup } from '../fixtures/tiny.js'
import { readValidManifest } from '../fixtures/manifest.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/main.js')

const WRITE = 'hf_write_token'
const READ = 'hf_read_token'
const REPO = 'acme/granite-ft'
const BASE_REPO_COMMIT = 'b'.repeat(40)

let root: string
let base: string
let adapters: string
let python: string
let hub: FakeHub
const saved = { ...process.env }

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('hub-publish', {
    base: { dtype: 'bf16' }
  }))
  await fs.writeFile(
    path.join(base, 'README.md'),
    '---\nlicense: apache-2.0\ntags: [x]\n---\n# base\n'
  )
  hub = await startFakeHub(
    { 'acme/existing': { refs: { main: BASE_REPO_COMMIT }, commits: { [BASE_REPO_COMMIT]: {} } } },
    READ,
    { writeToken: WRITE }
  )
  process.env.HF_ENDPOINT = hub.url
  process.env.HF_HOME = path.join(root, 'hf-home')
  delete process.env.HF_TOKEN
  process.env.GITHUB_STEP_SUMMARY = path.join(root, 'summary.md')
  process.env.GITHUB_RUN_ID = '4242'
  process.env.GITHUB_SERVER_URL = 'https://github.com'
  process.env.GITHUB_REPOSITORY = 'acme/trainer'
  process.env.GITHUB_SHA = 'c'.repeat(40)
}, 300_000)

afterAll(async () => {
  await hub?.close()
  process.env = saved
})

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

/** An MLX-only run into a fresh folder, publishing to the Hub. */
async function hubRun(extra: Record<string, string>): Promise<{ out: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  const out = path.join(dir, 'fused-model')
  Object.assign(core.inputs, {
    'base-model': base,
    'adapter-path': adapters,
    python,
    'output-dir': out,
    upload: 'false',
    'hf-token': WRITE,
    ...extra
  })
  await run()
  return { out }
}

const requests = (method: string, pattern: RegExp): number =>
  hub.requests.filter(r => r.method === method && pattern.test(r.path)).length

describe('hub-repo', () => {
  it('creates the private repository and commits the model, its card as README.md, once', async () => {
    const before = hub.commits.length
    const { out } = await hubRun({ 'hub-repo': REPO, 'size-budget': 'mlx=10MB' })
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(hub.repos[REPO]).toMatchObject({ private: true })
    expect(hub.commits.length).toBe(before + 1)
    const commit = hub.commits.at(-1)!
    expect(commit).toMatchObject({ repo: REPO, revision: 'main' })
    expect(commit.summary).toBe(
      `Upload fused-model from workflow run 4242 (${'c'.repeat(12)}) with mlx-fuse-action`
    )
    expect(commit.description).toContain(
      'Workflow run: https://github.com/acme/trainer/actions/runs/4242'
    )
    // Every file of the model folder, the safetensors through LFS with their sha256, and the card.
    const local = await readFolder(out)
    delete local['README.md']
    const sent = {
      ...commit.files,
      ...Object.fromEntries(Object.keys(commit.lfsFiles).map(f => [f, null]))
    }
    expect(Object.keys(sent).sort()).toEqual([...Object.keys(local), 'README.md'].sort())
    for (const [file, oid] of Object.entries(commit.lfsFiles)) expect(oid).toBe(sha256(local[file]))
    for (const [file, data] of Object.entries(commit.files)) {
      if (file !== 'README.md') expect(data.equals(local[file])).toBe(true)
    }
    // The card beside the folder is what went up as README.md.
    const card = await fs.readFile(`${out}.README.md`, 'utf8')
    expect(commit.files['README.md'].toString()).toBe(card)
    expect(card).toMatch(
      /^---\nlibrary_name: mlx\nlicense: "apache-2.0"\ntags:\n- mlx\n- lora\n- mlx-fuse-action\n---\n/
    )
    const manifest = await readValidManifest(`${out}.manifest.json`)
    const mlx = manifest.outputs[0]
    expect(card).toContain(`| \`mlx\` | ${mlx.format} |`)
    expect(card).toContain(`(${mlx.bytes.toLocaleString('en-US')} bytes)`)
    expect(card).toContain(`${mlx.sha256Files['model.safetensors']}  model.safetensors`)
    expect(card).toContain(
      `\`adapters.safetensors\` sha256 \`${sha256(await fs.readFile(path.join(adapters, 'adapters.safetensors')))}\``
    )
    // The client offered Xet; the fake answered with the plain transfer, as a server without Xet.
    expect(hub.lfsBatches.at(-1)?.transfers).toEqual(['basic', 'multipart', 'xet'])
    expect(core.outputs['hub-commit-url']).toBe(`${hub.url}/${REPO}/commit/${commit.oid}`)
    expect(core.summary.text).toContain('Hugging Face Hub')
  })

  it('makes no commit when the revision already holds every file (a re-run)', async () => {
    const before = hub.commits.length
    await hubRun({ 'hub-repo': REPO, 'size-budget': 'mlx=10MB' })
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(hub.commits.length).toBe(before)
    expect(core.outputs['hub-commit-url']).toBe(
      `${hub.url}/${REPO}/commit/${hub.repos[REPO].refs.main}`
    )
    expect(core.summary.text).toContain('>unchanged</a>')
  })

  it('commits to a new branch made from main, with multipart uploads', async () => {
    const before = hub.commits.length
    hub.options.multipartChunkBytes = 100_000
    hub.blobs.clear() // the same fused bytes as before: uploaded again only if the Hub lacks them
    try {
      await hubRun({ 'hub-repo': 'acme/existing', 'hub-revision': 'ft-1' })
    } finally {
      delete hub.options.multipartChunkBytes
    }
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(requests('PUT', /^\/lfs-upload\/[0-9a-f]{64}\/part\/2$/)).toBeGreaterThan(0)
    expect(requests('POST', /^\/lfs-upload\/[0-9a-f]{64}\/complete$/)).toBeGreaterThan(0)
    const commit = hub.commits.at(-1)!
    for (const oid of Object.values(commit.lfsFiles)) expect(oid).toMatch(/^[0-9a-f]{64}$/)
    expect(hub.repos['acme/existing'].refs.main).toBe(BASE_REPO_COMMIT)
    expect(hub.commits.slice(before).map(c => [c.repo, c.revision])).toEqual([
      ['acme/existing', 'ft-1']
    ])
    expect(requests('POST', /\/branch\/ft-1$/)).toBe(1)
  })

  it('names the write scope on a read-only token (403), before reading any large file', async () => {
    const before = { commits: hub.commits.length, batches: hub.lfsBatches.length }
    await hubRun({ 'hub-repo': 'acme/other', 'hf-token': READ })
    expect(core.setFailed).toHaveBeenCalledWith(
      'The Hub refused to let this token write to hub-repo "acme/other" (HTTP 403); give hf-token a token with write access (a fine-grained token needs write access to this repository, or to create repositories in its namespace).'
    )
    expect(hub.commits.length).toBe(before.commits)
    expect(hub.lfsBatches.length).toBe(before.batches)
    // The size report stays the run's report: the manifest is complete.
    expect(core.outputs['within-budget']).toBe('true')
  })

  it('leaves no commit when an upload is cut, and says what to re-run', async () => {
    const before = hub.commits.length
    hub.drop = /^\/lfs-upload\//
    hub.blobs.clear()
    try {
      await hubRun({ 'hub-repo': 'acme/cut' })
    } finally {
      hub.drop = null
    }
    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(String(core.setFailed.mock.calls[0][0])).toMatch(
      /^Publishing to hub-repo "acme\/cut" failed \(.+\); nothing was committed, so the revision is unchanged: run the job again \(files the Hub already has are not sent again\)\.$/
    )
    expect(hub.commits.length).toBe(before)
    expect(requests('POST', /^\/api\/models\/acme\/cut\/commit\//)).toBe(0)
  })

  it('never sends an output over its budget unless upload-over-budget', async () => {
    const before = { commits: hub.commits.length, batches: hub.lfsBatches.length }
    await hubRun({ 'hub-repo': 'acme/held', 'size-budget': 'mlx=1kB', 'on-over-budget': 'warn' })
    expect(hub.commits.length).toBe(before.commits)
    expect(hub.lfsBatches.length).toBe(before.batches)
    expect(core.summary.text).toContain('Not sent: <code>mlx</code>, over its size budget')
  })

  it('refuses hub-repo without a token, and a malformed id, before any work', async () => {
    await hubRun({ 'hub-repo': REPO, 'hf-token': '' })
    expect(core.setFailed).toHaveBeenCalledWith(
      'Input hub-repo "acme/granite-ft" is set but no Hugging Face token is given; set hf-token (or HF_TOKEN) to a token with write access.'
    )
    expect(core.group).not.toHaveBeenCalled()
    core.reset()
    await hubRun({ 'hub-repo': 'acme/../x' })
    expect(core.setFailed).toHaveBeenCalledWith(
      'Input hub-repo "acme/../x" is not a Hub repository id; write it as namespace/name (letters, digits, "-", "_" and "." only, no "--" or "..", such as acme/granite-ft).'
    )
    expect(core.group).not.toHaveBeenCalled()
  })
})
