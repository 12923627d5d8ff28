/**
 * The repo-id base in-process: the real @huggingface/hub client against a loopback fake of the
 * Hub (test/fixtures/hub.ts) serving the tiny model; the cache layout, the revision pinning and
 * one sentence for each of 401, 403, 404 and a dropped connection.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  fetchHubBase,
  fnmatch,
  hubSettings,
  mlxLmWants,
  resolveHubBase,
  type HubSettings
} from '../src/hub.js'
import { readFolder, startFakeHub, type FakeHub } from './fixtures/hub.js'
import { rejection } from './fixtures/rejection.js'
import { makeTinyModel } from './fixtures/tiny.js'

const C1 = '1'.repeat(40)
const C2 = '2'.repeat(40)
const TOKEN = 'hf_fake_reader'
let root: string
let hub: FakeHub
let model: Record<string, Buffer>

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'hub-')))
  model = await readFolder(await makeTinyModel(path.join(root, 'tiny'), { bits: 4 }))
  const extra = {
    'README.md': Buffer.from('# tiny\n'),
    '.gitattributes': Buffer.from('*.safetensors filter=lfs\n'),
    'pytorch_model.bin': Buffer.from('not for mlx')
  }
  const v1 = { ...model, 'config.json': Buffer.from('{"model_type": "llama", "v": 1}') }
  hub = await startFakeHub(
    {
      'org/tiny': {
        refs: { main: C1, 'v1.0': C2 },
        commits: { [C1]: { ...model, ...extra }, [C2]: v1 }
      },
      'org/private': { refs: { main: C1 }, commits: { [C1]: model }, private: true },
      'org/gated': { refs: { main: C1 }, commits: { [C1]: model }, gatedFor: [TOKEN] }
    },
    TOKEN
  )
})

afterAll(async () => {
  await hub?.close()
})

function settings(token: string | null = null): HubSettings {
  return { endpoint: hub.url, cacheDir: path.join(root, `cache-${Math.random()}`), token }
}

describe('which files mlx_lm downloads', () => {
  it('matches allow_patterns as fnmatch does', () => {
    expect(fnmatch('sub/dir/x.json', '*.json')).toBe(true)
    expect(fnmatch('model-00001-of-00002.safetensors', 'model*.safetensors')).toBe(true)
    expect(fnmatch('consolidated.safetensors', 'model*.safetensors')).toBe(false)
    expect(fnmatch('a.b', 'a?b')).toBe(true)
    expect(fnmatch('axb', 'a.b')).toBe(false)
    expect(mlxLmWants('tokenizer.model')).toBe(true)
    expect(mlxLmWants('README.md')).toBe(false)
    expect(mlxLmWants('pytorch_model.bin')).toBe(false)
  })
})

describe('hubSettings', () => {
  it('reads HF_ENDPOINT, HF_HUB_CACHE before HF_HOME, and the input before HF_TOKEN', () => {
    expect(hubSettings(null, { HF_HOME: '/h', HF_TOKEN: 'hf_env' })).toEqual({
      endpoint: 'https://huggingface.co',
      cacheDir: '/h/hub',
      token: 'hf_env'
    })
    expect(
      hubSettings('hf_input', { HF_HOME: '/h', HF_HUB_CACHE: '/c', HF_ENDPOINT: 'http://e/' })
    ).toEqual({ endpoint: 'http://e', cacheDir: '/c', token: 'hf_input' })
  })
})

describe('a repo-id base', () => {
  it('downloads the files mlx_lm takes, once, into models--ORG--NAME/snapshots/<commit>', async () => {
    const s = settings()
    hub.requests.length = 0
    const plan = await resolveHubBase('org/tiny', null, s)
    expect(plan.commit).toBe(C1)
    expect(plan.missing.map(f => f.path)).toEqual(Object.keys(model).sort())
    const base = await fetchHubBase(plan)
    const storage = path.join(s.cacheDir, 'models--org--tiny')
    expect(base.snapshotDir).toBe(path.join(storage, 'snapshots', C1))
    expect(base.bytes).toBe(Object.values(model).reduce((n, d) => n + d.length, 0))
    expect(base.downloadedFiles).toBe(Object.keys(model).length)
    // Each snapshot file is a link into blobs/, holding the served bytes.
    for (const [file, data] of Object.entries(model)) {
      const link = path.join(base.snapshotDir, file)
      expect((await fs.lstat(link)).isSymbolicLink()).toBe(true)
      expect(path.resolve(path.dirname(link), await fs.readlink(link))).toMatch(
        new RegExp(`^${storage}/blobs/[0-9a-f]{40,64}$`)
      )
      expect((await fs.readFile(link)).equals(data)).toBe(true)
    }
    expect(await fs.readFile(path.join(storage, 'refs', 'main'), 'utf8')).toBe(C1)
    const fetched = hub.requests.filter(r => r.path.startsWith('/org/tiny/resolve/'))
    expect(fetched.every(r => r.path.startsWith(`/org/tiny/resolve/${C1}/`))).toBe(true)
    expect(fetched.some(r => /README|gitattributes|pytorch_model/.test(r.path))).toBe(false)

    // A second resolve finds every file in the cache: nothing is downloaded.
    hub.requests.length = 0
    const again = await resolveHubBase('org/tiny', null, s)
    expect(again.missing).toEqual([])
    expect((await fetchHubBase(again)).downloadedBytes).toBe(0)
    expect(hub.requests.map(r => r.path)).toEqual([
      '/api/models/org/tiny/revision/main',
      '/api/models/org/tiny/tree/' + C1
    ])
  })

  it('refuses a cached file of the wrong size instead of fusing it', async () => {
    const s = settings()
    const base = await fetchHubBase(await resolveHubBase('org/tiny', null, s))
    await fs.truncate(path.join(base.snapshotDir, 'model.safetensors'), 10) // writes the blob
    const error = await rejection(fetchHubBase(await resolveHubBase('org/tiny', null, s)))
    expect(error.message).toBe(
      `The cached file ${path.join(base.snapshotDir, 'model.safetensors')} of base-model "org/tiny" is 10 bytes where the Hub lists ${model['model.safetensors'].length}; delete ${path.join(s.cacheDir, 'models--org--tiny')} and run again.`
    )
  })

  it('pins a tag to its commit and records it in refs/', async () => {
    const s = settings()
    const base = await fetchHubBase(await resolveHubBase('org/tiny', 'v1.0', s))
    expect(base.commit).toBe(C2)
    expect(base.revision).toBe('v1.0')
    expect(await fs.readFile(path.join(base.snapshotDir, 'config.json'), 'utf8')).toContain(
      '"v": 1'
    )
    expect(
      await fs.readFile(path.join(s.cacheDir, 'models--org--tiny', 'refs', 'v1.0'), 'utf8')
    ).toBe(C2)
  })

  it('refuses before downloading when the cache disk is too small', async () => {
    const s = settings()
    hub.requests.length = 0
    process.env.MLX_FUSE_FREE_BYTES_OVERRIDE = '1000'
    try {
      const error = await rejection(fetchHubBase(await resolveHubBase('org/tiny', null, s)))
      expect(error.message).toMatch(/^Not enough disk space for downloading base-model "org\/tiny"/)
    } finally {
      delete process.env.MLX_FUSE_FREE_BYTES_OVERRIDE
    }
    expect(hub.requests.some(r => r.path.includes('/resolve/'))).toBe(false)
  })

  it('sends the token and reads a private repo with it', async () => {
    const s = settings(TOKEN)
    hub.requests.length = 0
    const base = await fetchHubBase(await resolveHubBase('org/private', null, s))
    expect(base.commit).toBe(C1)
    expect(hub.requests.every(r => r.authorized || r.path.startsWith('/cdn/'))).toBe(true)
  })
})

describe('a repo-id base that cannot be fetched', () => {
  it('a private repo without a token (401) names hf-token', async () => {
    const error = await rejection(resolveHubBase('org/private', null, settings()))
    expect(error.message).toBe(
      `${hub.url} refused base-model "org/private" without a token (HTTP 401): it is private or gated, or the id is misspelled; set hf-token (or HF_TOKEN) to a token that can read it, or fix the id.`
    )
  })

  it('a gated repo with a token that has no access (403) names the terms', async () => {
    const error = await rejection(resolveHubBase('org/gated', null, settings('hf_other')))
    expect(error.message).toMatch(
      /refused base-model "org\/gated" \(HTTP 403\): it is gated .*accept the model's terms/
    )
  })

  it('a missing repo or revision (404) names the id and revision', async () => {
    const error = await rejection(resolveHubBase('org/nothing', null, settings()))
    expect(error.message).toBe(
      `${hub.url} has no model "org/nothing" at revision "main" (HTTP 404); check the base-model id and the revision input.`
    )
    const rev = await rejection(resolveHubBase('org/tiny', 'v9', settings()))
    expect(rev.message).toContain('at revision "v9" (HTTP 404)')
  })

  it('a dropped connection names the network, while resolving and while downloading', async () => {
    hub.drop = /\/tree\//
    try {
      const error = await rejection(resolveHubBase('org/tiny', null, settings()))
      expect(error.message).toMatch(
        new RegExp(
          `^Could not reach ${hub.url} to fetch base-model "org/tiny" \\(.+\\); check the runner's network, proxy and HF_ENDPOINT, then run again`
        )
      )
      hub.drop = /^\/cdn\//
      const plan = await resolveHubBase('org/tiny', null, settings())
      const during = await rejection(fetchHubBase(plan))
      expect(during.message).toMatch(/^Could not reach .* check the runner's network/)
    } finally {
      hub.drop = null
    }
  })

  it('a token that is not a Hugging Face token', async () => {
    const error = await rejection(resolveHubBase('org/tiny', null, settings('abc')))
    expect(error.message).toContain('does not start with "hf_"')
  })
})
