/**
 * The upload module with the real `@actions/artifact` 6.2.1 client, in-process, against the
 * loopback fake of the Actions results service (test/fixtures/results-service.ts). The zips are
 * inspected with Debian's `unzip` and verified with the real `sha256sum -c`.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { readUploadInputs, type UploadConfig } from '../../src/artifacts/inputs.js'
import {
  checksumOutputs,
  sumLine,
  withChecksums,
  type Checksums
} from '../../src/artifacts/sums.js'
import { measurePath } from '../../src/core/size.js'
import { DefaultArtifactClient } from '@actions/artifact'
import {
  checkArtifactNames,
  uploadOutputs,
  UploadError,
  type UploadRequest
} from '../../src/artifacts/upload.js'
import type { MeasuredOutput } from '../../src/core/types.js'
import type { JudgedOutput } from '../../src/budget/index.js'
import type { ArtifactOutcome } from '../../src/artifacts/outcome.js'
import {
  startResultsService,
  type CreatedArtifact,
  type FakeOptions,
  type ResultsService
} from '../fixtures/results-service.js'

const run = promisify(execFile)

let root: string
let service: ResultsService | null = null
const savedEnv = { ...process.env }

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'artifacts-')))
})

/** Quiet @actions/core (it writes workflow commands to stdout) and keep what it wrote. */
let stdout: string[] = []
beforeEach(() => {
  stdout = []
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk))
    return true
  })
})

afterEach(async () => {
  jest.restoreAllMocks()
  await service?.close()
  service = null
  process.env = { ...savedEnv }
})

async function fake(options: FakeOptions = {}): Promise<ResultsService> {
  service = await startResultsService(options)
  Object.assign(process.env, service.env, { RUNNER_TEMP: path.join(root, 'runner-temp') })
  await fs.mkdir(process.env.RUNNER_TEMP!, { recursive: true })
  return service
}

interface Outputs {
  dir: string
  outputs: MeasuredOutput[]
  manifest: string
  checksums: Checksums
}

/** An MLX output (a nested file included), two GGUF files of random bytes and a manifest. */
async function makeOutputs(ggufBytes = 3_000_000): Promise<Outputs> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  const mlx = path.join(dir, 'fused-model')
  await fs.mkdir(path.join(mlx, 'tokenizer'), { recursive: true })
  await fs.writeFile(path.join(mlx, 'model.safetensors'), randomBytes(2_500_000))
  await fs.writeFile(path.join(mlx, 'config.json'), '{"model_type":"llama"}\n')
  await fs.writeFile(path.join(mlx, 'tokenizer', 'tokenizer.json'), '{"v":1}\n')
  const ggufDir = path.join(dir, 'fused-model-gguf')
  await fs.mkdir(ggufDir)
  const q4 = path.join(ggufDir, 'fused-model-Q4_K_M.gguf')
  const q8 = path.join(ggufDir, 'fused-model-Q8_0.gguf')
  await fs.writeFile(q4, randomBytes(ggufBytes))
  await fs.writeFile(q8, randomBytes(ggufBytes * 2))
  const manifest = path.join(dir, 'fused-model.manifest.json')
  await fs.writeFile(manifest, '{"schemaVersion":1}\n')
  const mlxBytes = 2_500_000 + 23 + 8
  const base = { parameters: null, bitsPerWeight: null }
  const outputs: MeasuredOutput[] = [
    { ...base, name: 'mlx', kind: 'mlx', path: mlx, bytes: mlxBytes, files: 3, format: 'MLX' },
    { ...base, name: 'Q4_K_M', kind: 'gguf', path: q4, bytes: ggufBytes, files: 1, format: 'GGUF' },
    {
      ...base,
      name: 'Q8_0',
      kind: 'gguf',
      path: q8,
      bytes: ggufBytes * 2,
      files: 1,
      format: 'GGUF'
    }
  ]
  return { dir, outputs, manifest, checksums: await checksumOutputs(outputs) }
}

const config = (over: Partial<UploadConfig> = {}): UploadConfig => ({
  upload: true,
  prefix: 'tiny',
  retentionDays: null,
  uploadOverBudget: false,
  removeAfterUpload: false,
  ...over
})

function judged(outputs: MeasuredOutput[], over: string[] = []): JudgedOutput[] {
  const budget = { target: 'all', bytes: 1, text: 'all=1B' }
  return outputs.map(o => ({
    ...o,
    verdict: over.includes(o.name)
      ? { status: 'over', budget, headroomBytes: 1 - o.bytes, overPercent: (o.bytes - 1) * 100 }
      : { status: 'no-budget', budget: null, headroomBytes: null, overPercent: null }
  }))
}

function request(o: Outputs, cfg: UploadConfig, over: string[] = []): UploadRequest {
  return {
    outputs: judged(o.outputs, over),
    manifestPath: o.manifest,
    config: cfg,
    checksums: o.checksums
  }
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

async function unzipTo(blob: Buffer, dest: string): Promise<string> {
  const zip = `${dest}.zip`
  await fs.mkdir(path.dirname(dest), { recursive: true })
  await fs.writeFile(zip, blob)
  await fs.mkdir(dest, { recursive: true })
  await run('unzip', ['-q', zip, '-d', dest])
  return zip
}

/** `unzip -v` rows: [method, name] per entry. */
async function zipEntries(zip: string): Promise<Array<[string, string]>> {
  const { stdout: listing } = await run('unzip', ['-v', zip])
  return listing
    .split('\n')
    .map(line => line.trim().split(/\s+/))
    .filter(cols => cols.length >= 8 && /^[0-9a-f]{8}$/.test(cols[6]))
    .map(cols => [cols[1], cols.slice(7).join(' ')])
}

function byName(s: ResultsService, name: string): CreatedArtifact {
  const found = s.artifacts.find(a => a.name === name && !a.deleted)
  if (!found) throw new Error(`the fake received no artifact ${name}`)
  return found
}

async function failure(promise: Promise<unknown>): Promise<UploadError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(UploadError)
  return error as UploadError
}

describe('uploadOutputs against the fake results service', () => {
  it("sends the model card and each published GGUF file's Modelfile in the checksums artifact, listed in SHA256SUMS", async () => {
    const s = await fake()
    const o = await makeOutputs()
    for (const out of o.outputs.filter(x => x.kind === 'gguf')) {
      out.modelfile = out.path.replace(/\.gguf$/, '.Modelfile')
      await fs.writeFile(out.modelfile, `FROM ./${path.basename(out.path)}\n`)
    }
    const card = path.join(o.dir, 'fused-model.README.md')
    await fs.writeFile(card, '---\nlibrary_name: mlx\n---\n# fused-model\n')
    await uploadOutputs({ ...request(o, config(), ['Q8_0']), card })
    const layout = path.join(o.dir, 'download-modelfiles')
    await unzipTo(byName(s, 'tiny-checksums').blob!, path.join(layout, 'tiny-checksums'))
    const got = await fs.readdir(path.join(layout, 'tiny-checksums'))
    // Q8_0 is held back over budget: neither its file nor its Modelfile leaves the runner.
    expect(got.sort()).toEqual([
      'README.md',
      'SHA256SUMS',
      'fused-model-Q4_K_M.Modelfile',
      'manifest.json'
    ])
    expect(
      await fs.readFile(path.join(layout, 'tiny-checksums', 'fused-model-Q4_K_M.Modelfile'), 'utf8')
    ).toBe('FROM ./fused-model-Q4_K_M.gguf\n')
    expect(await fs.readFile(path.join(layout, 'tiny-checksums', 'README.md'), 'utf8')).toBe(
      await fs.readFile(card, 'utf8')
    )
    const check = await run('sha256sum', ['-c', 'tiny-checksums/SHA256SUMS', '--ignore-missing'], {
      cwd: layout
    })
    expect(check.stdout).toContain('tiny-checksums/fused-model-Q4_K_M.Modelfile: OK')
    expect(check.stdout).toContain('tiny-checksums/README.md: OK')
  })

  it('publishes the MLX zip stored, each GGUF raw, the checksums, and holds back an output over budget', async () => {
    const s = await fake()
    const o = await makeOutputs()
    const before = Date.now()
    const outcome = await uploadOutputs(request(o, config({ retentionDays: 7 }), ['Q8_0']))

    // Names, in order; Q8_0 is over budget and never sent.
    expect(s.artifacts.map(a => a.name)).toEqual(['tiny-mlx', 'tiny-Q4_K_M.gguf', 'tiny-checksums'])
    expect(outcome.held).toEqual([{ output: 'Q8_0', reason: expect.stringContaining('budget') }])
    for (const a of s.artifacts) {
      expect(a.create).toMatchObject({ version: 7 })
      const expires = Date.parse(String(a.create.expires_at))
      expect(expires - before).toBeGreaterThan(7 * 86400_000 - 2 * 3600_000)
      expect(expires - before).toBeLessThan(7 * 86400_000 + 2 * 3600_000)
    }

    // The MLX zip: every entry stored, not deflated; SHA256SUMS verified by sha256sum -c.
    const mlx = byName(s, 'tiny-mlx')
    const mlxDir = path.join(o.dir, 'got-mlx')
    const zip = await unzipTo(mlx.blob!, mlxDir)
    const entries = await zipEntries(zip)
    expect(entries.map(e => e[1]).sort()).toEqual(
      [
        'SHA256SUMS',
        'config.json',
        'manifest.json',
        'model.safetensors',
        'tokenizer/tokenizer.json'
      ].sort()
    )
    expect(new Set(entries.map(e => e[0]))).toEqual(new Set(['Stored']))
    const sums = await fs.readFile(path.join(mlxDir, 'SHA256SUMS'), 'utf8')
    expect(sums).toContain(
      sumLine(
        o.checksums.get(path.join(o.outputs[0].path, 'model.safetensors'))!,
        'model.safetensors'
      )
    )
    expect(sums).toContain(
      sumLine(
        o.checksums.get(path.join(o.outputs[0].path, 'tokenizer', 'tokenizer.json'))!,
        'tokenizer/tokenizer.json'
      )
    )
    const check = await run('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: mlxDir })
    expect(check.stdout.trim().split('\n')).toHaveLength(4)
    expect(check.stdout).not.toContain('FAILED')
    // The links were zipped through: the files, not links.
    const unpacked = await fs.readFile(path.join(mlxDir, 'model.safetensors'))
    expect(
      unpacked.equals(await fs.readFile(path.join(o.outputs[0].path, 'model.safetensors')))
    ).toBe(true)
    expect((await fs.lstat(path.join(mlxDir, 'model.safetensors'))).isFile()).toBe(true)

    // The GGUF: the raw bytes, byte-identical, and the digest the client reported matches.
    const q4 = byName(s, 'tiny-Q4_K_M.gguf')
    const q4File = await fs.readFile(o.outputs[1].path)
    expect(q4.blob!.equals(q4File)).toBe(true)
    expect(q4.finalize).toMatchObject({
      hash: `sha256:${sha256(q4File)}`,
      size: String(q4File.length)
    })

    // The checksums artifact verifies the whole download laid out as download-artifact does.
    const layout = path.join(o.dir, 'download')
    await unzipTo(mlx.blob!, path.join(layout, 'tiny-mlx'))
    await fs.writeFile(path.join(layout, 'tiny-Q4_K_M.gguf'), q4.blob!)
    await unzipTo(byName(s, 'tiny-checksums').blob!, path.join(layout, 'tiny-checksums'))
    const all = await run('sha256sum', ['-c', '--strict', 'tiny-checksums/SHA256SUMS'], {
      cwd: layout
    })
    expect(all.stdout).toContain('tiny-Q4_K_M.gguf: OK')
    expect(all.stdout).toContain('tiny-mlx/model.safetensors: OK')
    expect(all.stdout).toContain('tiny-checksums/manifest.json: OK')
    expect(all.stdout).not.toContain('Q8_0')

    // What the caller gets back: the fake's ids, the digests of what was sent, the run's URLs.
    expect(outcome.status).toBe('uploaded')
    expect(outcome.artifacts.map(a => [a.name, a.id, a.digest, a.bytes])).toEqual(
      s.artifacts.map(a => [a.name, a.id, `sha256:${sha256(a.blob!)}`, a.blob!.length])
    )
    expect(outcome.artifacts[1].url).toBe(
      `https://github.com/octo/models/actions/runs/4242/artifacts/${q4.id}`
    )
    // Each upload sits in its own collapsed group, with time and throughput after it.
    const log = stdout.join('')
    expect(log).toContain('::group::Uploading artifact tiny-Q4_K_M.gguf (3.00 MB (2.86 MiB))')
    expect(log).toMatch(
      /Uploaded tiny-Q4_K_M\.gguf: 3\.00 MB \(2\.86 MiB\) in [\d.]+ s \([\d.]+ MB\/s\)/
    )
    // The staging folder of links is gone; the outputs stay (remove-after-upload is false).
    expect(await fs.readdir(process.env.RUNNER_TEMP!)).toEqual([])
    await fs.access(o.outputs[0].path)
  })

  it('uploads an output over budget with upload-over-budget: true, and says so', async () => {
    const s = await fake()
    const o = await makeOutputs()
    await uploadOutputs(request(o, config({ uploadOverBudget: true }), ['Q8_0']))
    expect(byName(s, 'tiny-Q8_0.gguf').blob!.equals(await fs.readFile(o.outputs[2].path))).toBe(
      true
    )
    expect(stdout.join('')).toContain(
      '::warning::Q8_0 is over its size budget and is uploaded anyway, because upload-over-budget is true.'
    )
  })

  it('sends nothing when upload is false', async () => {
    const s = await fake()
    const o = await makeOutputs()
    const outcome = await uploadOutputs(request(o, config({ upload: false })))
    expect(outcome.status).toBe('disabled')
    expect(s.calls).toEqual([])
  })

  it('remove-after-upload deletes the uploaded outputs, and only those', async () => {
    await fake()
    const o = await makeOutputs()
    const outcome = await uploadOutputs(request(o, config({ removeAfterUpload: true }), ['Q8_0']))
    expect(outcome.removed).toEqual([o.outputs[0].path, o.outputs[1].path])
    await expect(fs.access(o.outputs[0].path)).rejects.toThrow()
    await expect(fs.access(o.outputs[1].path)).rejects.toThrow()
    await fs.access(o.outputs[2].path) // held back, kept
    await fs.access(o.manifest)
  })

  it('on GitHub Enterprise Server warns once and uploads nothing', async () => {
    const s = await fake()
    process.env.GITHUB_SERVER_URL = 'https://ghe.example.com'
    const o = await makeOutputs()
    await checkArtifactNames(config(), { mlx: true, gguf: ['Q4_K_M'] })
    const outcome: ArtifactOutcome = await uploadOutputs(request(o, config()))
    expect(outcome.status).toBe('ghes')
    expect(outcome.artifacts).toEqual([])
    expect(s.calls).toEqual([])
    const warnings = stdout
      .join('')
      .split('\n')
      .filter(l => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('GitHub Enterprise Server does not support')
    expect(warnings[0]).toContain(o.outputs[0].path)
  })

  it('CreateArtifact 500: the client retries 5 times, then the step fails naming the artifact', async () => {
    const s = await fake({ createStatus: { status: 500, msg: 'storage on fire' } })
    const o = await makeOutputs()
    // The client backs off 3 s, then x1.5 with jitter (about 30 s in all): the waits are recorded
    // and shortened here so the test takes well under a second.
    const waits: number[] = []
    const realSetTimeout = globalThis.setTimeout
    jest.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if ((ms ?? 0) >= 3000 && (ms ?? 0) < 60_000) {
        waits.push(ms!)
        return realSetTimeout(fn, 1)
      }
      return realSetTimeout(fn, ms)
    }) as typeof setTimeout)
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toMatch(
      /^Uploading artifact tiny-mlx failed: .*\(500\).*storage on fire\. Nothing was uploaded\.$/
    )
    expect(s.calls.filter(c => c === 'CreateArtifact')).toHaveLength(5)
    expect(waits).toHaveLength(4)
    expect(waits[0]).toBe(3000)
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThan(20_000)
    expect(error.uploaded).toEqual([])
  })

  it('a full quota is one sentence naming retention-days and upload: false', async () => {
    await fake({ createStatus: { status: 403, msg: 'insufficient usage to create artifact' } })
    const o = await makeOutputs()
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toBe(
      "Uploading artifact tiny-mlx failed: the repository's artifact storage quota is used up; set a lower retention-days so artifacts expire sooner (and delete old ones), or set upload: false. Nothing was uploaded."
    )
  })

  it('FinalizeArtifact not ok fails the upload', async () => {
    await fake({ finalizeNotOk: true })
    const o = await makeOutputs()
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toBe(
      'Uploading artifact tiny-mlx failed: FinalizeArtifact: response from backend was not ok. Nothing was uploaded.'
    )
  })

  it('a stalled upload fails after ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS, listing what was uploaded', async () => {
    await fake({ stallBlocks: a => a.name.endsWith('.gguf') })
    // Long enough that the small MLX folder's real upload never looks stalled on a loaded
    // two-core machine (500 ms did, in CI), short enough to keep the test quick.
    process.env.ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS = '5000'
    const o = await makeOutputs()
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toMatch(
      /^Uploading artifact tiny-Q4_K_M\.gguf failed: Upload progress stalled\. Already uploaded: tiny-mlx \(id \d+\)\.$/
    )
    expect(error.uploaded.map(a => a.name)).toEqual(['tiny-mlx'])
  })

  it('a file rewritten between its checksum and its upload: the digests differ, the artifact is deleted', async () => {
    const o = await makeOutputs()
    const q4 = o.outputs[1].path
    // Same size, other bytes, written after the checksum and before the client reads the file.
    const s = await fake({
      onCreate: async a => {
        if (a.name === 'tiny-Q4_K_M.gguf') await fs.writeFile(q4, randomBytes(3_000_000))
      }
    })
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toContain(
      'Artifact tiny-Q4_K_M.gguf: uploaded bytes differ from the file on disk'
    )
    expect(error.message).toContain('it was deleted from the run')
    expect(error.message).toMatch(/Already uploaded: tiny-mlx \(id \d+\)\.$/)
    expect(s.artifacts.find(a => a.name === 'tiny-Q4_K_M.gguf')!.deleted).toBe(true)
    expect(s.calls).toContain('DeleteArtifact')
    expect(s.artifacts.map(a => a.name)).not.toContain('tiny-checksums')
  })

  it('refuses a file whose size changed since it was measured, before sending it', async () => {
    const s = await fake()
    const o = await makeOutputs()
    await fs.appendFile(o.outputs[1].path, 'x')
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toContain(
      `${o.outputs[1].path} changed on disk after it was measured (3,000,000 bytes then, 3,000,001 now), so Q4_K_M was not uploaded`
    )
    expect(s.artifacts.map(a => a.name)).toEqual(['tiny-mlx'])
  })
  it('uploads the checksums artifact with the manifest even when every output is held over budget', async () => {
    const s = await fake()
    const o = await makeOutputs()
    const outcome = await uploadOutputs(request(o, config(), ['mlx', 'Q4_K_M', 'Q8_0']))
    expect(outcome.held.map(h => h.output)).toEqual(['mlx', 'Q4_K_M', 'Q8_0'])
    expect(s.artifacts.map(a => a.name)).toEqual(['tiny-checksums'])
    expect(outcome.artifacts.map(a => a.name)).toEqual(['tiny-checksums'])
    const got = path.join(o.dir, 'got-checksums')
    await unzipTo(byName(s, 'tiny-checksums').blob!, got)
    expect((await fs.readdir(got)).sort()).toEqual(['SHA256SUMS', 'manifest.json'])
    expect(await fs.readFile(path.join(got, 'manifest.json'), 'utf8')).toBe(
      await fs.readFile(o.manifest, 'utf8')
    )
    // SHA256SUMS lists the manifest alone, and verifies in download-artifact's layout.
    const sums = await fs.readFile(path.join(got, 'SHA256SUMS'), 'utf8')
    expect(sums.trim().split('\n')).toHaveLength(1)
    await fs.rename(got, path.join(o.dir, 'tiny-checksums'))
    const check = await run('sha256sum', ['-c', '--strict', 'tiny-checksums/SHA256SUMS'], {
      cwd: o.dir
    })
    expect(check.stdout.trim()).toBe('tiny-checksums/manifest.json: OK')
  })

  it('zips, hashes and lists a link to a file inside the MLX output, as measuring counts it', async () => {
    const s = await fake()
    const o = await makeOutputs()
    const mlx = o.outputs[0]
    // A relative link in a sub-folder to a file of the output (as some tokenizer copies are).
    await fs.symlink('../config.json', path.join(mlx.path, 'tokenizer', 'config-link.json'))
    const measured = await measurePath(mlx.path)
    expect(measured.bytes).toBe(mlx.bytes + 23) // the link counts as the 23-byte config.json
    const outputs = [
      { ...mlx, bytes: measured.bytes, files: measured.files },
      ...o.outputs.slice(1)
    ]
    const checksums = await checksumOutputs(outputs)
    const [withSums] = await withChecksums(outputs, checksums)
    expect(withSums.sha256Files?.['tokenizer/config-link.json']).toBe(
      sha256(await fs.readFile(path.join(mlx.path, 'config.json')))
    )
    expect(Object.keys(withSums.sha256Files ?? {})).toHaveLength(measured.files)
    await uploadOutputs({ ...request({ ...o, outputs, checksums }, config()) })
    const got = path.join(o.dir, 'got-mlx')
    const zip = await unzipTo(byName(s, 'tiny-mlx').blob!, got)
    expect((await zipEntries(zip)).map(e => e[1])).toContain('tokenizer/config-link.json')
    expect((await fs.lstat(path.join(got, 'tokenizer', 'config-link.json'))).isFile()).toBe(true)
    const sums = await fs.readFile(path.join(got, 'SHA256SUMS'), 'utf8')
    expect(sums).toContain('  tokenizer/config-link.json\n')
    const check = await run('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: got })
    expect(check.stdout.trim().split('\n')).toHaveLength(measured.files + 1) // + manifest.json
  })

  it.each([
    ['a line feed', 'bad\nname.json', '\\n'],
    ['a colon', 'tokenizer/a:b.json', ':'],
    ['a question mark', 'why?.txt', '?']
  ])(
    'refuses a fused file name with %s before the upload starts, naming the file',
    async (_what, rel, shown) => {
      const s = await fake()
      const o = await makeOutputs()
      await fs.writeFile(path.join(o.outputs[0].path, rel), 'x')
      const outputs = [{ ...o.outputs[0], bytes: o.outputs[0].bytes + 1 }, ...o.outputs.slice(1)]
      const checksums = await checksumOutputs(outputs)
      const error = await failure(uploadOutputs(request({ ...o, outputs, checksums }, config())))
      expect(error.message).toBe(
        `The MLX output ${o.outputs[0].path} holds the file ${JSON.stringify(rel)}, whose name holds ${JSON.stringify(shown === '\\n' ? '\n' : shown)}, which the artifact service refuses in a file path (it refuses " : < > | * ? and carriage returns and line feeds); rename or remove that file, or set upload: false. Nothing was uploaded.`
      )
      expect(s.calls).toEqual([])
      expect(error.message.split('\n')).toHaveLength(1)
    }
  )
})

describe('checkArtifactNames', () => {
  it('refuses a name this run already has, with the fix', async () => {
    await fake({ existing: ['tiny-Q4_K_M.gguf', 'other-mlx'] })
    await expect(
      checkArtifactNames(config(), { mlx: true, gguf: ['Q4_K_M', 'Q8_0'] })
    ).rejects.toThrow(
      /already has an artifact named "tiny-Q4_K_M\.gguf".*distinct artifact-name.*matrix/
    )
    await expect(
      checkArtifactNames(config({ prefix: 'tiny2' }), { mlx: true, gguf: ['Q4_K_M'] })
    ).resolves.toBeUndefined()
  })

  it('with gguf: auto, any <prefix>-*.gguf is taken', async () => {
    await fake({ existing: ['tiny-IQ4_XS.gguf'] })
    await expect(checkArtifactNames(config(), { mlx: false, gguf: 'auto' })).rejects.toThrow(
      /"tiny-IQ4_XS\.gguf"/
    )
  })

  it("on a re-run (GITHUB_RUN_ATTEMPT 2) lets an earlier attempt's names through; the upload supersedes them", async () => {
    const earlier = ['tiny-mlx', 'tiny-Q4_K_M.gguf', 'tiny-checksums']
    const s = await fake({ attempt: 2, earlier })
    process.env.GITHUB_RUN_ATTEMPT = '2'
    const before = s.artifacts.map(a => ({ name: a.name, id: a.id }))
    await expect(
      checkArtifactNames(config(), { mlx: true, gguf: ['Q4_K_M', 'Q8_0'] })
    ).resolves.toBeUndefined()
    const o = await makeOutputs()
    const outcome = await uploadOutputs(request(o, config(), ['Q8_0']))

    // The fake received a new artifact of each name, from this attempt; the old ones stay.
    const made = s.artifacts.filter(a => a.attempt === 2)
    expect(made.map(a => a.name)).toEqual(earlier)
    expect(made.every(a => a.finalize !== undefined && !a.deleted)).toBe(true)
    expect(s.artifacts.filter(a => a.attempt === 1 && !a.deleted).map(a => a.name)).toEqual(earlier)
    expect(s.calls.filter(c => c === 'CreateArtifact')).toHaveLength(3)
    // Reported: which earlier artifacts (name and id) this attempt's uploads supersede.
    expect(outcome.superseded).toEqual(before)
    const notices = stdout
      .join('')
      .split('\n')
      .filter(l => l.startsWith('::notice'))
    expect(notices).toHaveLength(1)
    expect(notices[0]).toContain(
      'This is attempt 2 of the run: its artifacts tiny-mlx, tiny-Q4_K_M.gguf, tiny-checksums supersede the ones of the same names from an earlier attempt (ids'
    )
    // A consumer that takes the newest of each name (download-artifact v8 lists with latest) gets
    // this attempt's artifacts.
    const newest = await new DefaultArtifactClient().listArtifacts({ latest: true })
    expect(newest.artifacts.map(a => [a.name, a.id]).sort()).toEqual(
      made.map(a => [a.name, a.id]).sort()
    )
  })

  it('on attempt 1 still refuses a name the run has; a same-attempt clash on attempt 2 fails with the fix', async () => {
    await fake({ existing: ['tiny-mlx'] })
    process.env.GITHUB_RUN_ATTEMPT = '1'
    await expect(checkArtifactNames(config(), { mlx: true, gguf: [] })).rejects.toThrow(
      'This workflow run already has an artifact named "tiny-mlx"'
    )
    await service!.close()
    // Attempt 2 with another matrix job of the same attempt using the name: ListArtifacts cannot
    // tell attempts apart, so the check lets it through and the service's 409 is explained.
    const s = await fake({ attempt: 2, existing: ['tiny-mlx'] })
    process.env.GITHUB_RUN_ATTEMPT = '2'
    await checkArtifactNames(config(), { mlx: true, gguf: [] })
    const o = await makeOutputs()
    const error = await failure(uploadOutputs(request(o, config(), ['Q4_K_M', 'Q8_0'])))
    expect(error.message).toMatch(
      /^Uploading artifact tiny-mlx failed: .*\(409\).*; another job of this run attempt already uploaded an artifact of that name: give each job or matrix entry a distinct artifact-name\. Nothing was uploaded\.$/
    )
    expect(s.calls.filter(c => c === 'CreateArtifact')).toHaveLength(1)
  })

  it("on a re-run, a digest mismatch deletes this attempt's artifact, not the earlier one", async () => {
    const o = await makeOutputs()
    const q4 = o.outputs[1].path
    const s = await fake({
      attempt: 2,
      earlier: ['tiny-Q4_K_M.gguf'],
      onCreate: async a => {
        if (a.name === 'tiny-Q4_K_M.gguf') await fs.writeFile(q4, randomBytes(3_000_000))
      }
    })
    process.env.GITHUB_RUN_ATTEMPT = '2'
    const error = await failure(uploadOutputs(request(o, config())))
    expect(error.message).toContain('it was deleted from the run')
    // The toolkit deletes the newest artifact of the name (the highest id), with its job's id.
    const q4s = s.artifacts.filter(a => a.name === 'tiny-Q4_K_M.gguf')
    expect(q4s.map(a => [a.attempt, Boolean(a.deleted)])).toEqual([
      [1, false],
      [2, true]
    ])
  })

  it('outside a workflow job says how to run without upload', async () => {
    delete process.env.ACTIONS_RUNTIME_TOKEN
    await expect(checkArtifactNames(config(), { mlx: true, gguf: [] })).rejects.toThrow(
      /ACTIONS_RUNTIME_TOKEN.*set upload: false/
    )
  })
})

describe('readUploadInputs', () => {
  const from =
    (inputs: Record<string, string>) =>
    (name: string): string =>
      inputs[name] ?? ''

  it('applies the defaults: upload on, prefix from output-dir, repository retention', () => {
    expect(readUploadInputs(from({}), '/w/my-model')).toEqual({
      upload: true,
      prefix: 'my-model',
      retentionDays: null,
      uploadOverBudget: false,
      removeAfterUpload: false
    })
  })

  it('reads every input', () => {
    expect(
      readUploadInputs(
        from({
          upload: 'TRUE',
          'artifact-name': ' q-7b ',
          'retention-days': '400',
          'upload-over-budget': 'true',
          'remove-after-upload': 'true'
        }),
        '/w/x'
      )
    ).toEqual({
      upload: true,
      prefix: 'q-7b',
      retentionDays: 400,
      uploadOverBudget: true,
      removeAfterUpload: true
    })
  })

  it.each(['0', '401', '7.5', '-1', 'week'])('refuses retention-days %s', days => {
    expect(() => readUploadInputs(from({ 'retention-days': days }), '/w/x')).toThrow(
      `Input retention-days is "${days}"; use a whole number of days from 1 to 400`
    )
  })

  it('refuses a non-boolean and a name the service refuses', () => {
    expect(() => readUploadInputs(from({ upload: 'yes' }), '/w/x')).toThrow(
      'Input upload is "yes"; use true or false.'
    )
    // one parser for every true/false input: the value is quoted as read, blanks trimmed
    expect(() => readUploadInputs(from({ 'upload-over-budget': ' Yes ' }), '/w/x')).toThrow(
      new Error('Input upload-over-budget is "Yes"; use true or false.')
    )
    expect(() => readUploadInputs(from({ 'artifact-name': 'a/b' }), '/w/x')).toThrow(
      /artifact-name is "a\/b", which holds "\/".*choose another artifact-name/
    )
  })

  it('refuses an artifact-name that would write GGUF files outside gguf-dir, with upload: false too', () => {
    for (const name of ['../victim', 'a/b', 'a\\b']) {
      expect(() =>
        readUploadInputs(from({ upload: 'false', gguf: 'Q4_K_M', 'artifact-name': name }), '/w/x')
      ).toThrow(/^Input artifact-name is ".*", which holds ".*"; .*choose another artifact-name\.$/)
    }
    // "." and ".." alone name nothing outside (the files are "..-Q4_K_M.gguf"), but a path
    // separator always would; a name that names no file (no gguf, no upload) is not checked.
    expect(
      readUploadInputs(from({ upload: 'false', 'artifact-name': '../victim' }), '/w/x')
    ).toMatchObject({
      upload: false
    })
  })

  it('refuses a control character in artifact-name whenever it names files', () => {
    for (const c of ['\t', '\u001b', '\u0000', '\u007f']) {
      expect(() =>
        readUploadInputs(from({ upload: 'false', gguf: 'Q8_0', 'artifact-name': `a${c}b` }), '/w/x')
      ).toThrow(/^Input artifact-name is ".*", which holds ".*"; /)
    }
  })

  it('refuses a name too long for a file name up front, naming the limit', () => {
    const long = 'm'.repeat(300)
    for (const inputs of [
      { upload: 'false', gguf: 'Q4_K_M', 'artifact-name': long } as Record<string, string>,
      { upload: 'true', 'artifact-name': long }
    ]) {
      expect(() => readUploadInputs(from(inputs), '/w/x')).toThrow(
        'Input artifact-name is 300 bytes long; the longest file name it makes (<artifact-name>-<TYPE>-00001-of-00009.gguf for a split GGUF type) must stay within 255 bytes, so keep artifact-name within 200 bytes (UTF-8): choose a shorter artifact-name.'
      )
    }
    expect(
      readUploadInputs(from({ 'artifact-name': 'm'.repeat(200) }), '/w/x').prefix
    ).toHaveLength(200)
    // Multi-byte characters count as their UTF-8 bytes: 101 x "é" is 202 bytes.
    expect(() => readUploadInputs(from({ 'artifact-name': 'é'.repeat(101) }), '/w/x')).toThrow(
      'Input artifact-name is 202 bytes long;'
    )
  })
})
