/**
 * The whole run, run() in-process (fixtures/in-process.ts), against the loopback fake of the
 * Actions results service; the failed uploads spawn the bundled dist/index.js (the
 * @actions/artifact client as shipped), since what they prove is that the process ends.
 * Replaced: mlx_lm and convert_hf_to_gguf.py (stand-ins); real: llama.cpp, the measurement, the
 * upload, unzip and sha256sum.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { runAction, type ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'
import { realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import { startResultsService, type ResultsService } from './fixtures/results-service.js'
import { FIXTURES_DIR, makeAdapters, makeStandInPython, makeTinyModel } from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

const exec = promisify(execFile)
const LLAMA_CPP_DIR = realLlamaCpp().dir // $LLAMA_CPP_DIR or the global set-up's build
const CONVERT_PYTHON = path.join(FIXTURES_DIR, 'llama-stand-in', 'python')

let root: string
let q4Base: string
let adapters: string
let python: string
let service: ResultsService | null = null

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-artifacts-')))
  q4Base = await makeTinyModel(path.join(root, 'base-q4'), { bits: 4 })
  const bf16 = await makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' })
  adapters = await makeAdapters(path.join(root, 'adapters'), bf16)
  python = await makeStandInPython(path.join(root, 'py'))
})

/**
 * Fuses the 4-bit base with upload: true in a fresh folder, against the fake service: in-process,
 * or with `runner` runAction as a process of its own (a failed upload must end the process).
 */
async function uploadRun(
  service: ResultsService,
  env: Record<string, string> = {},
  runner: typeof runAction = runInProcess
): Promise<{ dir: string; run: ActionRun }> {
  const dir = await fs.mkdtemp(path.join(root, 'work-'))
  const run = await runner(
    { 'base-model': q4Base, 'adapter-path': adapters, python, upload: 'true' },
    { cwd: dir, env: { ...service.env, ...env } }
  )
  return { dir, run }
}

afterEach(async () => {
  await service?.close()
  service = null
})

describe('the action, end to end (artifacts)', () => {
  it('uploads the MLX model and a GGUF file, sets the artifact outputs and summary rows', async () => {
    await fs.access(path.join(LLAMA_CPP_DIR, 'build', 'bin', 'llama-quantize'))
    service = await startResultsService()
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runInProcess(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python,
        'llama-cpp-dir': LLAMA_CPP_DIR,
        'convert-python': CONVERT_PYTHON,
        'smoke-test': 'false',
        gguf: 'Q4_K_M Q8_0',
        'size-budget': 'mlx=5MB\nQ8_0=1kB',
        'on-over-budget': 'warn',
        upload: 'true',
        'artifact-name': 'tiny-run',
        'retention-days': '3'
      },
      { cwd: dir, env: service.env }
    )
    expect(run.code).toBe(0)
    // The GGUF files are named like their artifacts.
    const ggufDir = path.join(dir, 'fused-model-gguf')
    expect((await fs.readdir(ggufDir)).sort()).toEqual([
      'tiny-run-Q4_K_M.Modelfile',
      'tiny-run-Q4_K_M.gguf',
      'tiny-run-Q8_0.Modelfile',
      'tiny-run-Q8_0.gguf'
    ])
    // Q8_0 is over its budget: never sent.
    const names = service.artifacts.map(a => a.name)
    expect(names).toEqual(['tiny-run-mlx', 'tiny-run-Q4_K_M.gguf', 'tiny-run-checksums'])
    expect(service.calls[0]).toBe('ListArtifacts') // the name check, before any fuse
    const q4 = service.artifacts[1]
    const q4File = await fs.readFile(path.join(ggufDir, 'tiny-run-Q4_K_M.gguf'))
    expect(q4.blob!.equals(q4File)).toBe(true)
    const expires = Date.parse(String(q4.create.expires_at)) - Date.now()
    expect(Math.round(expires / 86400_000)).toBe(3)

    // The outputs are the fake's ids, the digests of the bytes it received, the run's URLs.
    const ids = JSON.parse(run.outputs['artifact-ids'])
    const digests = JSON.parse(run.outputs['artifact-digests'])
    const urls = JSON.parse(run.outputs['artifact-url'])
    for (const a of service.artifacts) {
      expect(ids[a.name]).toBe(a.id)
      expect(digests[a.name]).toBe(`sha256:${a.blobSha256}`)
      expect(urls[a.name]).toBe(
        `https://github.com/octo/models/actions/runs/4242/artifacts/${a.id}`
      )
    }
    expect(digests['tiny-run-Q4_K_M.gguf']).toBe(
      `sha256:${createHash('sha256').update(q4File).digest('hex')}`
    )
    // The summary links each artifact, and says why Q8_0 is not there.
    expect(run.summary).toContain(
      `<a href="https://github.com/octo/models/actions/runs/4242/artifacts/${ids['tiny-run-mlx']}"><code>tiny-run-mlx</code></a>`
    )
    expect(run.summary).toMatch(/<code>Q8_0<\/code><\/td><td>not uploaded: over its size budget/)

    // The MLX zip: stored entries, SHA256SUMS verified by sha256sum -c, equal to the manifest's.
    const unpacked = path.join(root, 'unpacked')
    await fs.writeFile(`${unpacked}.zip`, service.artifacts[0].blob!)
    const listing = (await exec('unzip', ['-v', `${unpacked}.zip`])).stdout
    expect(listing).not.toContain('Defl')
    await exec('unzip', ['-q', `${unpacked}.zip`, '-d', unpacked])
    const check = await exec('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: unpacked })
    expect(check.stdout).toContain('model.safetensors: OK')
    const manifest = await readValidManifest(run.outputs.manifest)
    const mlx = manifest.outputs.find((o: { name: string }) => o.name === 'mlx')
    const sums = await fs.readFile(path.join(unpacked, 'SHA256SUMS'), 'utf8')
    for (const [rel, sum] of Object.entries(mlx.sha256Files as Record<string, string>)) {
      expect(sums).toContain(`${sum}  ${rel}\n`)
    }
    expect(await fs.readFile(path.join(unpacked, 'manifest.json'), 'utf8')).toBe(
      await fs.readFile(run.outputs.manifest, 'utf8')
    )
  })

  it('refuses a taken artifact name before the fuse, with the fix', async () => {
    service = await startResultsService({ existing: ['fused-model-mlx'] })
    const { dir, run } = await uploadRun(service)
    expect(run.code).toBe(1)
    expect(run.annotations.join('\n')).toContain(
      'This workflow run already has an artifact named "fused-model-mlx"'
    )
    await expect(fs.access(path.join(dir, 'fused-model'))).rejects.toThrow()
    expect(service.calls).toEqual(['ListArtifacts'])
  })

  it('artifact-name ../victim with upload: false is refused before the fuse; the file it would name stays', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    // gguf-dir is <dir>/fused-model-gguf: "../victim" would name <dir>/victim-Q4_K_M.gguf.
    const victim = path.join(dir, 'victim-Q4_K_M.gguf')
    await fs.writeFile(victim, 'the user file\n')
    const run = await runInProcess(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python,
        'llama-cpp-dir': LLAMA_CPP_DIR,
        'convert-python': CONVERT_PYTHON,
        'smoke-test': 'false',
        gguf: 'Q4_K_M',
        upload: 'false',
        'artifact-name': '../victim'
      },
      { cwd: dir }
    )
    expect(run.code).toBe(1)
    expect(run.annotations.join('\n')).toContain(
      'Input artifact-name is "../victim", which holds "/"; artifact names cannot contain'
    )
    expect(await fs.readFile(victim, 'utf8')).toBe('the user file\n')
    await expect(fs.access(path.join(dir, 'fused-model'))).rejects.toThrow()
  })

  it('a 300-character artifact-name is refused before the fuse and before any call to the service', async () => {
    service = await startResultsService()
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runInProcess(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python,
        upload: 'true',
        'artifact-name': 'm'.repeat(300)
      },
      { cwd: dir, env: service.env }
    )
    expect(run.code).toBe(1)
    expect(run.annotations.join('\n')).toContain(
      'Input artifact-name is 300 bytes long; the longest file name it makes'
    )
    expect(run.annotations.join('\n')).not.toContain('ENAMETOOLONG')
    expect(service.calls).toEqual([])
    await expect(fs.access(path.join(dir, 'fused-model'))).rejects.toThrow()
  })

  it("on a re-run (attempt 2) uploads over the earlier attempt's names and says what it supersedes", async () => {
    const earlier = ['fused-model-mlx', 'fused-model-checksums']
    service = await startResultsService({ attempt: 2, earlier })
    const ids = service.artifacts.map(a => a.id)
    const { run } = await uploadRun(service, { GITHUB_RUN_ATTEMPT: '2' })
    expect(run.code).toBe(0)
    expect(service.artifacts.filter(a => a.attempt === 2).map(a => a.name)).toEqual(earlier)
    expect(run.annotations.join('\n')).toContain(
      '::notice::This is attempt 2 of the run: its artifacts fused-model-mlx, fused-model-checksums supersede'
    )
    expect(run.summary).toContain(
      `Re-run: these uploads supersede the earlier attempt's <code>fused-model-mlx</code> (id ${ids[0]}), <code>fused-model-checksums</code> (id ${ids[1]})`
    )
    // The step outputs name this attempt's artifacts.
    const out = JSON.parse(run.outputs['artifact-ids'])
    expect(out['fused-model-mlx']).toBe(service.artifacts.find(a => a.attempt === 2)!.id)
  })

  it('every output over budget: nothing is published but <prefix>-checksums with the manifest', async () => {
    service = await startResultsService()
    const dir = await fs.mkdtemp(path.join(root, 'work-'))
    const run = await runInProcess(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python,
        upload: 'true',
        'size-budget': 'mlx=1kB'
      },
      { cwd: dir, env: service.env }
    )
    expect(run.code).toBe(1) // over budget, on-over-budget: fail
    expect(service.artifacts.map(a => a.name)).toEqual(['fused-model-checksums'])
    const unpacked = path.join(dir, 'checksums')
    await fs.writeFile(`${unpacked}.zip`, service.artifacts[0].blob!)
    await exec('unzip', ['-q', `${unpacked}.zip`, '-d', unpacked])
    const manifestText = await fs.readFile(run.outputs.manifest, 'utf8')
    expect(await fs.readFile(path.join(unpacked, 'manifest.json'), 'utf8')).toBe(manifestText)
    // The model card, written beside the model folder before the upload, rides along as README.md,
    // listed in SHA256SUMS; the output held back is not in it.
    const outputDir = (JSON.parse(manifestText) as { folders: { outputDir: string } }).folders
      .outputDir
    const card = await fs.readFile(`${outputDir}.README.md`)
    expect((await fs.readFile(path.join(unpacked, 'README.md'))).equals(card)).toBe(true)
    expect(await fs.readFile(path.join(unpacked, 'SHA256SUMS'), 'utf8')).toContain(
      `${createHash('sha256').update(card).digest('hex')}  fused-model-checksums/README.md\n`
    )
    expect(card.toString()).toContain('## Files')
    expect(card.toString()).not.toContain('| `mlx` |')
    expect(run.summary).toMatch(/<code>mlx<\/code><\/td><td>not uploaded: over its size budget/)
  })

  it('an upload error fails the step after the summary, saying what was uploaded (spawns dist/index.js)', async () => {
    service = await startResultsService({ finalizeNotOk: true })
    const { run } = await uploadRun(service, {}, runAction)
    expect(run.code).toBe(1)
    const message =
      'Uploading artifact fused-model-mlx failed: FinalizeArtifact: response from backend was not ok. Nothing was uploaded.'
    expect(run.annotations).toContain(`::error::${message}`)
    expect(run.summary).toContain('Fused and measured')
    expect(run.summary).toContain(`<b>❌ Upload failed:</b> ${message}`)
    expect(run.outputs['fused-bytes']).toMatch(/^\d+$/)
    expect(run.outputs['artifact-ids']).toBe('{}')
  })

  it('a stalled upload fails the step, and the process exits although the block request hangs (spawns dist/index.js)', async () => {
    // The fake never answers the block (it does only when it closes, after the run).
    service = await startResultsService({ stallBlocks: () => true })
    const { run } = await uploadRun(
      service,
      { ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS: '1000' },
      runAction
    )
    expect(run.code).toBe(1)
    expect(run.annotations).toContain(
      '::error::Uploading artifact fused-model-mlx failed: Upload progress stalled. Nothing was uploaded.'
    )
    expect(run.summary).toContain('<b>❌ Upload failed:</b>')
    // Without the exit guard (STUCK_EXIT_MS, 10 s) the process stayed alive past 120 s: runAction
    // then never returns and jest's test timeout (120 s, jest.config.js) fails this test.
    expect(service.calls).toEqual(['ListArtifacts', 'CreateArtifact'])
  })

  it('a closed connection fails the step as a stall; the blob client retries do not hold the process (spawns dist/index.js)', async () => {
    service = await startResultsService({ resetBlocks: () => true })
    const { run } = await uploadRun(
      service,
      { ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS: '1000' },
      runAction
    )
    expect(run.code).toBe(1)
    expect(run.annotations.filter(a => a.startsWith('::error::'))).toEqual([
      '::error::Uploading artifact fused-model-mlx failed: Upload progress stalled. Nothing was uploaded.'
    ])
  })
})
