/**
 * The repo-id base in-process: the real @huggingface/hub client against a loopback fake of the
 * Hub (test/fixtures/hub.ts) serving the tiny model; the cache layout, the revision pinning,
 * the settings read as huggingface_hub reads them, offline mode, a cut download resumed, and one
 * sentence for each fault (401, 403, 404, a dropped or cut connection, a short body, a hostile
 * revision or file name).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  checkCacheOutside,
  fetchHubBase,
  fnmatch,
  hubSettings,
  mlxLmWants,
  resolveHubBase,
  type HubSettings
} from '../src/hub.js'
import { freeBytes } from '../src/core/disk.js'
import { readFolder, startFakeHub, type FakeHub } from './fixtures/hub.js'
import { rejection } from './fixtures/rejection.js'
import { makeTinyModel } from './fixtures/tiny.js'

const C1 = '1'.repeat(40)
const C2 = '2'.repeat(40)
const TOKEN = 'hf_fake_reader'
const OUTSIDE = 'refs/../../../../outside'
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
        refs: { main: C1, 'v1.0': C2, [OUTSIDE]: C1 },
        commits: { [C1]: { ...model, ...extra }, [C2]: v1 }
      },
      'org/private': { refs: { main: C1 }, commits: { [C1]: model }, private: true },
      'org/gated': { refs: { main: C1 }, commits: { [C1]: model }, gatedFor: [TOKEN] },
      'org/evil': {
        refs: { main: C1 },
        commits: { [C1]: { ...model, '../escape.json': Buffer.from('{}') } }
      }
    },
    TOKEN
  )
})

afterAll(async () => {
  await hub?.close()
})

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function gitBlobSha1(data: Buffer): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]))
    .digest('hex')
}

/** Resolves once `file` holds at least `bytes` bytes (the client wrote what it received). */
async function grown(file: string, bytes: number): Promise<void> {
  while (((await fs.stat(file).catch(() => null))?.size ?? 0) < bytes) {
    await new Promise(resolve => setImmediate(resolve))
  }
}

function settings(token: string | null = null): HubSettings {
  const cacheDir = path.join(root, `cache-${Math.random()}`)
  return { endpoint: hub.url, cacheDir, token, offline: false, retryDelayMs: 0 } as HubSettings
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
  it('reads HF_ENDPOINT, HF_HUB_CACHE before HF_HOME, and the input before HF_TOKEN', async () => {
    expect(await hubSettings(null, { HF_HOME: '/h', HF_TOKEN: 'hf_env' })).toMatchObject({
      endpoint: 'https://huggingface.co',
      cacheDir: '/h/hub',
      token: 'hf_env',
      offline: false
    })
    expect(
      await hubSettings('hf_input', { HF_HOME: '/h', HF_HUB_CACHE: '/c', HF_ENDPOINT: 'http://e/' })
    ).toMatchObject({ endpoint: 'http://e', cacheDir: '/c', token: 'hf_input' })
  })

  it('reads the token `hf auth login` wrote: HF_TOKEN_PATH, else $HF_HOME/token', async () => {
    const home = path.join(root, 'login-home')
    await fs.mkdir(home, { recursive: true })
    await fs.writeFile(path.join(home, 'token'), 'hf_from_login\n')
    await fs.writeFile(path.join(root, 'token-path'), ' corp-token-7\r\n')
    expect((await hubSettings(null, { HF_HOME: home })).token).toBe('hf_from_login')
    const tokenPath = path.join(root, 'token-path')
    expect((await hubSettings(null, { HF_HOME: home, HF_TOKEN_PATH: tokenPath })).token).toBe(
      'corp-token-7'
    )
    // The environment first, the input before everything.
    expect((await hubSettings(null, { HF_HOME: home, HF_TOKEN: 'hf_env' })).token).toBe('hf_env')
    expect((await hubSettings('hf_in', { HF_HOME: home })).token).toBe('hf_in')
    expect((await hubSettings(null, { HF_HOME: path.join(root, 'no-login') })).token).toBeNull()
  })

  it('expands ~ and $VAR in HF_HOME, HF_HUB_CACHE, XDG_CACHE_HOME and HF_TOKEN_PATH as Python does', async () => {
    const env = { HOME: '/home/u', T: '/tmp/t' }
    expect((await hubSettings(null, { ...env, HF_HOME: '~/hf' })).cacheDir).toBe('/home/u/hf/hub')
    expect((await hubSettings(null, { ...env, HF_HOME: '~' })).cacheDir).toBe('/home/u/hub')
    expect(
      (await hubSettings(null, { ...env, HF_HUB_CACHE: '$T/c/${T}/$UNSET/x~' })).cacheDir
    ).toBe('/tmp/t/c/tmp/t/$UNSET/x~')
    expect((await hubSettings(null, { ...env, XDG_CACHE_HOME: '$T' })).cacheDir).toBe(
      '/tmp/t/huggingface/hub'
    )
    // expanduser runs first, so a variable's value is not expanded again.
    expect((await hubSettings(null, { ...env, HF_HOME: '$V', V: '~/x' })).cacheDir).toBe(
      '/home/u/x/hub' // HF_HOME stays "~/x", but HF_HUB_CACHE's default is expanded again
    )
    await fs.writeFile(path.join(root, 'tok'), 'hf_tilde')
    expect(
      (await hubSettings(null, { HOME: root, HF_HOME: '/nowhere', HF_TOKEN_PATH: '~/tok' })).token
    ).toBe('hf_tilde')
  })

  it('reads HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE) as huggingface_hub does', async () => {
    for (const [env, offline] of [
      [{ HF_HUB_OFFLINE: '1' }, true],
      [{ HF_HUB_OFFLINE: 'yes' }, true],
      [{ HF_HUB_OFFLINE: 'On' }, true],
      [{ TRANSFORMERS_OFFLINE: 'TRUE' }, true],
      [{ HF_HUB_OFFLINE: '0' }, false],
      [{ HF_HUB_OFFLINE: '' }, false],
      [{}, false]
    ] as const) {
      expect((await hubSettings(null, { HF_HOME: '/h', ...env })).offline).toBe(offline)
    }
  })

  it('refuses credentials in HF_ENDPOINT without printing them', async () => {
    const error = await rejection(
      hubSettings(null, { HF_HOME: '/h', HF_ENDPOINT: 'https://me:s3cret@hub.example.com/' })
    )
    expect(error.message).toBe(
      'HF_ENDPOINT "https://***@hub.example.com" holds a user name or password, which this action does not send; remove them from HF_ENDPOINT, and give the Hub token in hf-token or HF_TOKEN.'
    )
  })
})

describe('checkCacheOutside', () => {
  it('compares path segments and resolved links: "<out>/..hf" is inside, "<out>-hf" is not', async () => {
    const out = path.join(root, 'out')
    await fs.mkdir(out, { recursive: true })
    await fs.symlink(out, path.join(root, 'out-link'))
    const at = (cacheDir: string): HubSettings => ({ ...settings(), cacheDir })
    for (const inside of [path.join(out, '..hf'), out, path.join(root, 'out-link', 'hf')]) {
      const error = await rejection(checkCacheOutside(at(inside), [['output-dir', out]]))
      expect(error.message).toContain(`lies inside output-dir "${out}"`)
    }
    const gguf = await rejection(
      checkCacheOutside(at(path.join(out, 'c')), [
        ['output-dir', root + '/x'],
        ['gguf-dir', out]
      ])
    )
    expect(gguf.message).toContain('lies inside gguf-dir')
    for (const outside of [`${out}-hf`, path.join(root, 'hf'), root]) {
      await checkCacheOutside(at(outside), [
        ['output-dir', out],
        ['gguf-dir', null]
      ])
    }
  })
})

describe('a repo-id base', () => {
  it('downloads the files mlx_lm takes, once, into models--ORG--NAME/snapshots/<commit>', async () => {
    const s = settings()
    hub.requests.length = 0
    const plan = await resolveHubBase('org/tiny', null, s)
    expect(plan.commit).toBe(C1)
    expect(plan.missing.map(f => f.path)).toEqual(Object.keys(model).sort())
    const base = await fetchHubBase(plan, freeBytes)
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
    expect((await fetchHubBase(again, freeBytes)).downloadedBytes).toBe(0)
    expect(hub.requests.map(r => r.path)).toEqual([
      '/api/models/org/tiny/revision/main',
      '/api/models/org/tiny/tree/' + C1
    ])
  })

  it('refuses a cached file of the wrong size instead of fusing it', async () => {
    const s = settings()
    const base = await fetchHubBase(await resolveHubBase('org/tiny', null, s), freeBytes)
    await fs.truncate(path.join(base.snapshotDir, 'model.safetensors'), 10) // writes the blob
    const error = await rejection(
      fetchHubBase(await resolveHubBase('org/tiny', null, s), freeBytes)
    )
    expect(error.message).toBe(
      `The cached file ${path.join(base.snapshotDir, 'model.safetensors')} of base-model "org/tiny" is 10 bytes where the Hub lists ${model['model.safetensors'].length}; delete ${path.join(s.cacheDir, 'models--org--tiny')} and run again.`
    )
  })

  it('pins a tag to its commit and records it in refs/', async () => {
    const s = settings()
    const base = await fetchHubBase(await resolveHubBase('org/tiny', 'v1.0', s), freeBytes)
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
    const small = async (): Promise<number> => 1000 // a pretended cache disk with 1000 bytes free
    const error = await rejection(fetchHubBase(await resolveHubBase('org/tiny', null, s), small))
    expect(error.message).toMatch(/^Not enough disk space for downloading base-model "org\/tiny"/)
    // Only the one-byte access probe of config.json reached a file.
    const files = hub.requests.filter(r => r.path.includes('/resolve/'))
    expect(files.map(r => r.range)).toEqual(['bytes=0-0'])
  })

  it('sends the token and reads a private repo with it', async () => {
    const s = settings(TOKEN)
    hub.requests.length = 0
    const base = await fetchHubBase(await resolveHubBase('org/private', null, s), freeBytes)
    expect(base.commit).toBe(C1)
    expect(hub.requests.every(r => r.authorized || r.path.startsWith('/cdn/'))).toBe(true)
  })

  it('reads a private repo with a token that does not start with hf_ (a custom endpoint)', async () => {
    const corp = await startFakeHub(
      { 'org/private': { refs: { main: C1 }, commits: { [C1]: model }, private: true } },
      'corp-7f3a91'
    )
    try {
      const s = { ...settings('corp-7f3a91'), endpoint: corp.url }
      const base = await fetchHubBase(await resolveHubBase('org/private', null, s), freeBytes)
      expect(base.downloadedFiles).toBe(Object.keys(model).length)
      expect(corp.requests.every(r => r.authorized || r.path.startsWith('/cdn/'))).toBe(true)
    } finally {
      await corp.close()
    }
  })

  it('resumes an LFS download cut by the network with a Range request from the bytes it has', async () => {
    const s = settings()
    const weights = model['model.safetensors']
    hub.requests.length = 0
    const partial = path.join(
      s.cacheDir,
      'models--org--tiny',
      'blobs',
      `${sha256(weights)}.incomplete`
    )
    hub.cut = { path: /^\/cdn\//, afterBytes: 1000, times: 1, received: () => grown(partial, 1000) }
    try {
      const base = await fetchHubBase(await resolveHubBase('org/tiny', null, s), freeBytes)
      const cdn = hub.requests.filter(r => r.path.startsWith('/cdn/'))
      expect(cdn.map(r => [r.range, r.cutAt])).toEqual([
        [null, 1000],
        ['bytes=1000-', undefined]
      ])
      expect(
        (await fs.readFile(path.join(base.snapshotDir, 'model.safetensors'))).equals(weights)
      ).toBe(true)
      const blobs = await fs.readdir(path.join(s.cacheDir, 'models--org--tiny', 'blobs'))
      expect(blobs.filter(b => b.endsWith('.incomplete'))).toEqual([])
    } finally {
      hub.cut = null
    }
  })

  it('continues the partial blob an earlier, cut run left', async () => {
    const s = settings()
    const weights = model['model.safetensors']
    const blobs = path.join(s.cacheDir, 'models--org--tiny', 'blobs')
    await fs.mkdir(blobs, { recursive: true })
    await fs.writeFile(path.join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 4096))
    hub.requests.length = 0
    const base = await fetchHubBase(await resolveHubBase('org/tiny', null, s), freeBytes)
    const cdn = hub.requests.filter(r => r.path.startsWith('/cdn/'))
    expect(cdn.map(r => r.range)).toEqual(['bytes=4096-'])
    expect(
      (await fs.readFile(path.join(base.snapshotDir, 'model.safetensors'))).equals(weights)
    ).toBe(true)
  })

  it('resumes a small file cut by the network too', async () => {
    const s = settings()
    const config = model['config.json']
    const partial = path.join(
      s.cacheDir,
      'models--org--tiny',
      'blobs',
      `${gitBlobSha1(config)}.incomplete`
    )
    hub.cut = {
      path: /\/resolve\/.*\/config\.json$/,
      afterBytes: 5,
      times: 1,
      received: () => grown(partial, 5)
    }
    try {
      hub.requests.length = 0
      const base = await fetchHubBase(await resolveHubBase('org/tiny', null, s), freeBytes)
      const requests = hub.requests.filter(
        r => r.path.endsWith('/config.json') && r.range !== 'bytes=0-0'
      )
      expect(requests.map(r => [r.range, r.cutAt])).toEqual([
        [null, 5],
        ['bytes=5-', undefined]
      ])
      expect(
        (await fs.readFile(path.join(base.snapshotDir, 'config.json'))).equals(model['config.json'])
      ).toBe(true)
    } finally {
      hub.cut = null
    }
  })

  it('with HF_HUB_OFFLINE uses the cached snapshot without a request, and names a missing one', async () => {
    const s = settings()
    await fetchHubBase(await resolveHubBase('org/tiny', 'v1.0', s), freeBytes)
    hub.requests.length = 0
    const offline = { ...s, offline: true }
    const base = await fetchHubBase(await resolveHubBase('org/tiny', 'v1.0', offline), freeBytes)
    expect(base.commit).toBe(C2)
    expect(base.downloadedBytes).toBe(0)
    expect(base.files.map(f => f.path)).toEqual(Object.keys(model).sort())
    const error = await rejection(resolveHubBase('org/tiny', 'main', offline))
    expect(error.message).toBe(
      `HF_HUB_OFFLINE is set, and the Hugging Face cache ${s.cacheDir} holds no snapshot of base-model "org/tiny" at revision "main"; run once with network access (unset HF_HUB_OFFLINE), or point base-model at a local folder.`
    )
    expect(hub.requests).toEqual([])
  })
})

describe('a repo-id base that cannot be fetched', () => {
  it('a private repo without a token (401) names hf-token', async () => {
    const error = await rejection(resolveHubBase('org/private', null, settings()))
    expect(error.message).toBe(
      `${hub.url} refused base-model "org/private" without a token (HTTP 401): it is private or gated, or the id is misspelled; set hf-token (or HF_TOKEN) to a token that can read it, or fix the id.`
    )
  })

  it('a gated repo (listed to anyone) is refused while resolving, by one file probe', async () => {
    hub.requests.length = 0
    const error = await rejection(resolveHubBase('org/gated', null, settings('hf_other')))
    expect(error.message).toMatch(
      /refused base-model "org\/gated" \(HTTP 403\): it is gated .*accept the model's terms/
    )
    const without = await rejection(resolveHubBase('org/gated', null, settings()))
    expect(without.message).toContain('refused base-model "org/gated" without a token (HTTP 401)')
    // One 1-byte probe of one file each time; nothing downloaded.
    const files = hub.requests.filter(r => r.path.includes('/resolve/'))
    expect(files.map(r => r.range)).toEqual(['bytes=0-0', 'bytes=0-0'])
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
      const during = await rejection(fetchHubBase(plan, freeBytes))
      expect(during.message).toMatch(/^Could not reach .* check the runner's network/)
    } finally {
      hub.drop = null
    }
  })

  it('a revision that is not a valid git ref name is refused before any request', async () => {
    hub.requests.length = 0
    const s = settings()
    for (const bad of [
      OUTSIDE,
      'a..b',
      '.hidden',
      'x.lock',
      'a//b',
      'a/',
      'x~1',
      'a b',
      'a:b',
      '@',
      'v@{1}',
      'a\\b',
      'x\ny',
      'a*'
    ]) {
      const error = await rejection(resolveHubBase('org/tiny', bad, s))
      expect(error.message).toBe(
        `Input revision "${bad.replace('\n', '\\u000a')}" is not a valid git branch, tag or commit name (git check-ref-format); give a branch, a tag or a commit id.`
      )
    }
    expect(hub.requests).toEqual([])
    await expect(fs.stat(path.join(root, 'outside'))).rejects.toThrow()
    for (const good of ['main', 'v1.0', 'refs/pr/1', C1]) {
      const ok = await rejection(resolveHubBase('org/nothing', good, s))
      expect(ok.message).toContain('(HTTP 404)')
    }
  })

  it('a file name with ".." in the Hub listing is refused before anything is downloaded', async () => {
    hub.requests.length = 0
    const error = await rejection(resolveHubBase('org/evil', null, settings()))
    expect(error.message).toBe(
      `The Hub lists a file "../escape.json" in base-model "org/evil" (commit ${C1}), a name that would be written outside the cache folder; this action does not download it: use another revision, or ask the repository's owner to rename the file.`
    )
    expect(hub.requests.some(r => r.path.includes('/resolve/'))).toBe(false)
  })

  it('a connection cut again and again without progress gets its own sentence', async () => {
    const s = settings()
    const plan = await resolveHubBase('org/tiny', null, s)
    const size = model['model.safetensors'].length
    hub.cut = { path: /^\/cdn\//, afterBytes: 0, times: 99 }
    try {
      const error = await rejection(fetchHubBase(plan, freeBytes))
      const blob = path.join(
        s.cacheDir,
        'models--org--tiny',
        'blobs',
        createHash('sha256').update(model['model.safetensors']).digest('hex')
      )
      expect(error.message).toBe(
        `The download of model.safetensors (base-model "org/tiny") was cut off 5 times in a row at 0 of ${size} bytes; the bytes so far stay in ${blob}.incomplete and the next run resumes from them: check the runner's network, proxy and HF_ENDPOINT, then run again.`
      )
    } finally {
      hub.cut = null
    }
  })

  it('a complete answer shorter than the listing says is not taken for the file', async () => {
    const s = settings()
    const plan = await resolveHubBase('org/tiny', null, s)
    const size = model['model.safetensors'].length
    hub.short = { path: /^\/cdn\//, bytes: 100 }
    try {
      const error = await rejection(fetchHubBase(plan, freeBytes))
      expect(error.message).toBe(
        `${hub.url} sent 100 bytes for model.safetensors of base-model "org/tiny" where its file list says ${size}; the partial file was removed: run again, and if it repeats, check for a proxy that alters downloads.`
      )
    } finally {
      hub.short = null
    }
    const blobs = await fs.readdir(path.join(s.cacheDir, 'models--org--tiny', 'blobs'))
    expect(
      blobs.some(b =>
        b.includes(createHash('sha256').update(model['model.safetensors']).digest('hex'))
      )
    ).toBe(false)
  })
})
