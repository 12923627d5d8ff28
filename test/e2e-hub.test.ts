/**
 * A Hugging Face repo id as base-model, through the whole run (run() in-process:
 * fixtures/in-process.ts): the real @huggingface/hub client against a loopback fake of the Hub
 * (HF_ENDPOINT) serving the tiny model, the mlx_lm stand-in as the only thing replaced. The repo-id base gets what a local base
 * gets (precision diagnosis, disk check, base size), lands in the Python cache layout, is
 * downloaded once, and the manifest records the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'
import { readFolder, startFakeHub, type FakeHub } from './fixtures/hub.js'
import { makeAdapters, makeTinyModel, makeTinySetup, readStandInLog } from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

const COMMIT = 'c0ffee'.padEnd(40, '0')
const REPO = 'tiny-org/tiny-q4'
const GATED = 'tiny-org/gated'
let root: string
let base: string
let adapters: string
let python: string
let hub: FakeHub

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('e2e-hub', {
    base: { bits: 4, groupSize: 64 },
    adapters: { rank: 8 }
  }))
  const files = { ...(await readFolder(base)), 'README.md': Buffer.from('# tiny\n') }
  hub = await startFakeHub({
    [REPO]: { refs: { main: COMMIT }, commits: { [COMMIT]: files } },
    [GATED]: { refs: { main: COMMIT }, commits: { [COMMIT]: files }, gatedFor: ['hf_granted'] }
  })
})

afterAll(async () => {
  await hub?.close()
})

/** Every regular file's size under `dir`, links not followed: the local base's own size. */
async function treeBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.lstat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

async function action(
  baseModel: string,
  hfHome: string,
  extra: Record<string, string> = {},
  env: Record<string, string> = {},
  freeBytes?: number
): Promise<{ run: ActionRun; dir: string; fuses: string[][] }> {
  const dir = await fs.mkdtemp(path.join(root, 'work-'))
  const log = path.join(dir, 'standin.log')
  const run = await runInProcess(
    {
      'base-model': baseModel,
      'adapter-path': adapters,
      python,
      'size-budget': 'mlx=5MB',
      ...extra
    },
    {
      cwd: dir,
      env: { MLX_STANDIN_LOG: log, HF_HOME: hfHome, HF_ENDPOINT: hub.url, ...env },
      freeBytes
    }
  )
  const fuses = (await readStandInLog(log).catch(() => []))
    .filter(c => c.command === 'fuse')
    .map(c => c.args)
  return { run, dir, fuses }
}

describe('adapters trained for another model than the repo-id base', () => {
  it('are refused once the snapshot is there, before any fuse', async () => {
    const wide = await makeTinyModel(path.join(root, 'base-wide'), { intermediate: 768 })
    const wideAdapters = await makeAdapters(path.join(root, 'adapters-wide'), wide, {
      keys: ['mlp.up_proj']
    })
    const { run, fuses } = await action(REPO, path.join(root, 'hf-home-wide'), {
      'adapter-path': wideAdapters
    })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::.*these adapters were trained for another model/)
    expect(fuses).toEqual([])
  })
})

async function manifestOf(run: ActionRun): Promise<Record<string, unknown>> {
  return (await readValidManifest(run.outputs.manifest)) as Record<string, unknown>
}

describe('a Hugging Face repo id as base-model', () => {
  it('is downloaded once into the cache and fused like the same model on disk', async () => {
    const hfHome = path.join(root, 'hf-home')
    const snapshot = path.join(hfHome, 'hub', 'models--tiny-org--tiny-q4', 'snapshots', COMMIT)
    hub.requests.length = 0
    const remote = await action(REPO, hfHome)
    expect(remote.run.code).toBe(0)
    // Fuse read the local snapshot, not the repo id.
    expect(remote.fuses).toHaveLength(1)
    expect(remote.fuses[0].slice(0, 3)).toEqual(['fuse', '--model', snapshot])
    // The machine check ran first, in its own group.
    expect(remote.run.stdout).toMatch(
      /^::group::Checking this machine \(the same as npm run doctor\)\n· Machine: /
    )
    expect(remote.run.stdout).toContain(
      '✓ mlx-lm: 0.32.2 (python -m mlx_lm fuse); de-quantize flag --dequantize'
    )
    // The download was shown with its size, inside a group.
    expect(remote.run.stdout).toMatch(
      new RegExp(
        `::group::Downloading base-model ${REPO}@c0ffee000000 from ${hub.url}: 6 of 6 files, [\\d.]+ kB`
      )
    )
    // Every file the fake served that mlx_lm takes, once; README.md never.
    const resolved = hub.requests.filter(r => r.path.includes('/resolve/')).map(r => r.path)
    const wanted = Object.keys(await readFolder(base)).sort()
    expect([...new Set(resolved)].sort()).toEqual(
      wanted.map(f => `/${REPO}/resolve/${COMMIT}/${f}`)
    )
    // Each file's bytes were sent once, in one request (the weights through the redirect to the
    // CDN, as on the Hub), after one 1-byte access probe of config.json.
    const whole = hub.requests.filter(r => r.range === null && r.path.includes('/resolve/'))
    expect(whole).toHaveLength(wanted.length)
    expect(hub.requests.filter(r => r.path.startsWith('/cdn/')).map(r => r.range)).toEqual([null])
    expect(hub.requests.filter(r => r.range !== null).map(r => [r.path, r.range])).toEqual([
      [`/${REPO}/resolve/${COMMIT}/config.json`, 'bytes=0-0']
    ])
    // The Python cache layout: links in snapshots/<commit> into blobs/, and refs/main.
    for (const f of wanted)
      expect((await fs.lstat(path.join(snapshot, f))).isSymbolicLink()).toBe(true)
    expect(
      await fs.readFile(
        path.join(hfHome, 'hub', 'models--tiny-org--tiny-q4', 'refs', 'main'),
        'utf8'
      )
    ).toBe(COMMIT)

    // The same model from a local folder: same diagnosis, same base size (the links' targets).
    const local = await action(base, path.join(root, 'unused-hf-home'))
    expect(local.run.code).toBe(0)
    const [m, l] = [await manifestOf(remote.run), await manifestOf(local.run)]
    expect(m.baseModelBytes).toBe(await treeBytes(base))
    expect(m.baseModelBytes).toBe(l.baseModelBytes)
    expect(m.diagnoses).toEqual(l.diagnoses)
    expect(JSON.stringify(m.diagnoses)).toContain('4-bit affine, group 64')
    expect(remote.run.outputs['fused-bytes']).toBe(local.run.outputs['fused-bytes'])
    expect(m.baseModelSource).toEqual({
      repo: REPO,
      revision: 'main',
      commit: COMMIT,
      endpoint: hub.url,
      snapshot,
      downloadedBytes: m.baseModelBytes
    })
    expect(l.baseModelSource).toBeNull()

    // A second run fetches nothing: only the commit lookup and the listing reach the Hub.
    hub.requests.length = 0
    const again = await action(REPO, hfHome)
    expect(again.run.code).toBe(0)
    expect(hub.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /api/models/${REPO}/revision/main`,
      `GET /api/models/${REPO}/tree/${COMMIT}`
    ])
    expect(again.run.stdout).toContain(`Base model ${REPO}@c0ffee000000: all 6 files`)
    expect(again.fuses[0][2]).toBe(snapshot)
    expect(
      ((await manifestOf(again.run)).baseModelSource as { downloadedBytes: number }).downloadedBytes
    ).toBe(0)

    // Offline (HF_HUB_OFFLINE=1, with HF_HOME written as "~/..."): the cached snapshot, no request.
    hub.requests.length = 0
    const home = path.dirname(hfHome)
    const offline = await action(
      REPO,
      `~/${path.basename(hfHome)}`,
      {},
      { HF_HUB_OFFLINE: '1', HOME: home }
    )
    expect(offline.run.code).toBe(0)
    expect(hub.requests).toEqual([])
    expect(offline.run.stdout).toContain(
      `HF_HUB_OFFLINE is set: using the cached snapshot ${snapshot}.`
    )
    expect(offline.fuses[0][2]).toBe(snapshot)
  })

  it('checks the disk for the download, then for the fuse exactly as for a local base', async () => {
    // Too small for the download itself: refused before any file is fetched.
    hub.requests.length = 0
    const tiny = await action(REPO, path.join(root, 'hf-small'), {}, {}, 100000)
    expect(tiny.run.code).toBe(1)
    expect(tiny.run.stdout).toMatch(
      /Not enough disk space for downloading base-model "tiny-org\/tiny-q4": it needs about [\d.]+ kB/
    )
    // Only the one-byte access probe of config.json reached a file.
    const files = hub.requests.filter(r => r.path.includes('/resolve/'))
    expect(files.map(r => r.range)).toEqual(['bytes=0-0'])
    expect(tiny.fuses).toEqual([])

    // Room for the download (~0.85 MB) but not for the 16-bit fuse (~3 MB): the same refusal
    // a local base gets, before any fuse.
    const free = 2000000
    const remote = await action(REPO, path.join(root, 'hf-mid'), { dequantize: 'true' }, {}, free)
    const local = await action(base, path.join(root, 'unused'), { dequantize: 'true' }, {}, free)
    const refusal = (r: { run: ActionRun; dir: string }): string =>
      /Not enough disk space for the fused model[^\n]*/
        .exec(r.run.stdout)?.[0]
        .replaceAll(r.dir, 'WORK') ?? ''
    expect(remote.run.code).toBe(1)
    expect(refusal(remote)).toMatch(/it needs about [\d.]+ MB .* has 2.00 MB \(1.91 MiB\) free/)
    expect(refusal(remote)).toBe(refusal(local))
    expect(remote.fuses).toEqual([])
  })

  it('fails with one sentence when the repo does not exist', async () => {
    const missing = await action('tiny-org/nothing', path.join(root, 'hf-missing'))
    expect(missing.run.code).toBe(1)
    expect(missing.run.annotations).toContain(
      `::error::${hub.url} has no model "tiny-org/nothing" at revision "main" (HTTP 404); check the base-model id and the revision input.`
    )
    expect(missing.fuses).toEqual([])
  })
})

describe('secrets and hostile Hub settings', () => {
  it('a token an endpoint echoes back in an error reaches neither the error nor the summary', async () => {
    const token = `hf_${'Q7'.repeat(17)}`
    const envToken = 'corp-token-without-prefix-5a1'
    hub.fail = { path: /\/revision\//, status: 500, body: 'rejected Authorization: {auth}' }
    try {
      for (const [inputs, env, secret] of [
        [{ 'hf-token': token }, {}, token],
        [{}, { HF_TOKEN: envToken }, envToken]
      ] as const) {
        const { run } = await action(REPO, path.join(root, 'hf-echo'), inputs, env)
        expect(run.code).toBe(1)
        const error = run.annotations.find(a => a.startsWith('::error::'))
        expect(error).toContain('answered HTTP 500')
        expect(error).toContain('rejected Authorization: Bearer ***')
        expect(run.summary).toContain('rejected Authorization: Bearer ***')
        for (const text of [run.summary, ...run.annotations]) expect(text).not.toContain(secret)
        // The log is masked by the runner: the action registers the token.
        expect(run.stdout).toContain(`::add-mask::${secret}`)
      }
    } finally {
      hub.fail = null
    }
  })

  it('credentials in HF_ENDPOINT are refused in one sentence that does not print them', async () => {
    hub.requests.length = 0
    const endpoint = hub.url.replace('http://', 'http://me:s3cret@')
    const { run } = await action(REPO, path.join(root, 'hf-creds'), {}, { HF_ENDPOINT: endpoint })
    expect(run.code).toBe(1)
    expect(run.annotations).toContain(
      `::error::HF_ENDPOINT "${hub.url.replace('http://', 'http://***@')}" holds a user name or password, which this action does not send; remove them from HF_ENDPOINT, and give the Hub token in hf-token or HF_TOKEN.`
    )
    expect(run.stdout + run.summary).not.toContain('s3cret')
    expect(hub.requests).toEqual([])
  })

  it('an HF_HUB_CACHE inside output-dir is refused before anything is fetched', async () => {
    hub.requests.length = 0
    const { run, dir } = await action(
      REPO,
      path.join(root, 'hf-inside'),
      { 'output-dir': 'fused' },
      { HF_HUB_CACHE: 'fused/hf-cache' }
    )
    expect(run.code).toBe(1)
    expect(run.annotations).toContain(
      `::error::The Hugging Face cache "${path.join(dir, 'fused', 'hf-cache')}" (HF_HUB_CACHE, else HF_HOME/hub) lies inside output-dir "${path.join(dir, 'fused')}", which the action empties and replaces; set HF_HUB_CACHE or HF_HOME to a folder outside output-dir and gguf-dir.`
    )
    expect(hub.requests).toEqual([])
  })

  it('a gated repo the token cannot read fails before the Python environment is looked at', async () => {
    hub.requests.length = 0
    const { run, dir } = await action(GATED, path.join(root, 'hf-gated'), {
      'hf-token': 'hf_not_granted_0000000000000000000000'
    })
    expect(run.code).toBe(1)
    expect(run.annotations.find(a => a.startsWith('::error::'))).toMatch(
      /refused base-model "tiny-org\/gated" \(HTTP 403\): it is gated/
    )
    // Python ran only for the machine check's `fuse --help` (the first thing every run does):
    // the environment's version probe never ran, and no file was downloaded.
    const python = await readStandInLog(path.join(dir, 'standin.log'))
    expect(python.map(c => c.command)).toEqual(['help'])
    const files = hub.requests.filter(r => r.path.includes('/resolve/'))
    expect(files.map(r => r.range)).toEqual(['bytes=0-0'])
  })
})
