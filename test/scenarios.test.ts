/**
 * Named scenarios whose manifest, step outputs and job summary are recorded as snapshots, so a
 * reshape of the code (issue 16's three moves) can prove it changed nothing a user sees: after
 * each move these stay byte-equal, with only timestamps, durations and temporary or machine paths
 * replaced by placeholders. run() in-process with the core fixture; the tool stand-ins are real
 * processes (mlx_lm and the converter), llama-quantize and llama-gguf-split are the real build.
 * A deliberate change of a message updates the snapshot in the same commit, and says so.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as core from './__fixtures__/core.js'
import { realLlamaCpp } from './fixtures/llama-stand-in/helpers.js'
import { FIXTURES_DIR, makeAdapters, makeStandInPython, makeTinyModel } from './fixtures/tiny.js'
import { expectValidManifest } from './fixtures/manifest.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../src/main.js')

const LLAMA_CPP_DIR = realLlamaCpp().dir
const REPO = path.resolve(FIXTURES_DIR, '..', '..')
const CONVERT_PYTHON = path.join(FIXTURES_DIR, 'llama-stand-in', 'python')

let root: string
let bf16Base: string
let q4Base: string
let adapters: string
let python: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'scenarios-')))
  ;[bf16Base, q4Base, python] = await Promise.all([
    makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' }),
    makeTinyModel(path.join(root, 'base-q4'), { bits: 4 }),
    makeStandInPython(path.join(root, 'env'))
  ])
  adapters = await makeAdapters(path.join(root, 'adapters'), bf16Base)
  process.env.GITHUB_STEP_SUMMARY = path.join(root, 'summary.md')
}, 600_000)

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

/** Replaces what differs between runs and machines with placeholders; nothing else. */
function normalize(text: string, work: string): string {
  const replacements: Array<[string, string]> = [
    [work, '<work>'],
    [REPO, '<repo>'],
    [root, '<root>'],
    [LLAMA_CPP_DIR, '<llama.cpp>'],
    [os.homedir(), '<home>'],
    [os.tmpdir(), '<tmp>']
  ]
  let out = text
  for (const [from, to] of replacements) out = out.split(from).join(to)
  return out
    .replace(/\.(fuse|work)-[0-9a-f]{8}\b/g, '.$1-<random>')
    .replace(/\bmlx-fuse-comment-[A-Za-z0-9]{6}\b/g, 'mlx-fuse-comment-<random>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d+(\.\d+)? ?(ms|s|min)\b/g, '<duration>')
}

interface Recorded {
  failed: string[]
  exitCode: number | undefined
  outputs: Record<string, string>
  manifest: unknown
  summary: string
  annotations: string[]
}

/** Runs one scenario in a fresh folder and records what a user sees of it. */
async function scenario(
  name: string,
  inputs: (work: string) => Record<string, string>
): Promise<Recorded> {
  const work = await fs.mkdtemp(path.join(root, `${name}-`))
  Object.assign(core.inputs, { upload: 'false', ...inputs(work) })
  await run()
  const manifestPath = path.join(work, 'fused-model.manifest.json')
  const manifestText = await fs.readFile(manifestPath, 'utf8').catch(() => null)
  // Every scenario's manifest, as written (before normalizing), must match the committed schema.
  if (manifestText !== null) expectValidManifest(JSON.parse(manifestText))
  const n = (t: string): string => normalize(t, work)
  const annotations = [
    ...core.error.mock.calls.map(c => `error: ${String(c[0])} ${JSON.stringify(c[1] ?? {})}`),
    ...core.warning.mock.calls.map(c => `warning: ${String(c[0])} ${JSON.stringify(c[1] ?? {})}`),
    ...core.notice.mock.calls.map(c => `notice: ${String(c[0])} ${JSON.stringify(c[1] ?? {})}`)
  ]
  return {
    failed: core.setFailed.mock.calls.map(c => n(String(c[0]))),
    exitCode: process.exitCode === undefined ? undefined : Number(process.exitCode),
    outputs: Object.fromEntries(Object.entries(core.outputs).map(([k, v]) => [k, n(v)])),
    manifest: manifestText === null ? null : JSON.parse(n(manifestText)),
    summary: n(core.summary.text),
    annotations: annotations.map(n)
  }
}

const mlxOnly = (base: string) => (work: string) => ({
  'base-model': base,
  'adapter-path': adapters,
  python,
  'output-dir': path.join(work, 'fused-model')
})

const withGguf = (base: string, extra: Record<string, string>) => (work: string) => ({
  ...mlxOnly(base)(work),
  'llama-cpp-dir': LLAMA_CPP_DIR,
  'convert-python': CONVERT_PYTHON,
  ...extra
})

describe('scenarios: what a user sees stays the same through a reshape', () => {
  it('mlx-only: a 16-bit base fused within its budget', async () => {
    expect(
      await scenario('mlx-within', w => ({ ...mlxOnly(bf16Base)(w), 'size-budget': 'mlx=10MB' }))
    ).toMatchSnapshot()
  })

  it('mlx-only: over budget fails the step after the manifest and summary', async () => {
    expect(
      await scenario('mlx-over', w => ({ ...mlxOnly(bf16Base)(w), 'size-budget': 'mlx=1kB' }))
    ).toMatchSnapshot()
  })

  it('mlx-only: a 4-bit base fused with dequantize, over budget in warn mode (the trap)', async () => {
    expect(
      await scenario('mlx-trap', w => ({
        ...mlxOnly(q4Base)(w),
        dequantize: 'true',
        'size-budget': 'mlx=50kB',
        'on-over-budget': 'warn'
      }))
    ).toMatchSnapshot()
  })

  it('an input error stops before any work', async () => {
    expect(
      await scenario('input-error', w => ({ ...mlxOnly(bf16Base)(w), 'size-budget': 'mlx: 2MB' }))
    ).toMatchSnapshot()
  })

  it('gguf: two types from a 4-bit base, budgets per type and an unused entry', async () => {
    expect(
      await scenario('gguf-types', w =>
        withGguf(q4Base, {
          gguf: 'Q4_K_M, Q8_0',
          'gguf-dir': path.join(w, 'gguf'),
          'size-budget': 'Q4_K_M=10MB, Q8_0=1kB, Q6_K=5MB',
          'on-over-budget': 'warn'
        })(w)
      )
    ).toMatchSnapshot()
  })

  it('gguf: auto picks a type under the budget', async () => {
    expect(
      await scenario('gguf-auto', w =>
        withGguf(bf16Base, {
          gguf: 'auto',
          'gguf-dir': path.join(w, 'gguf'),
          'size-budget': 'gguf=2MB'
        })(w)
      )
    ).toMatchSnapshot()
  })

  it('gguf: a file over gguf-split is split into shards', async () => {
    expect(
      await scenario('gguf-split', w =>
        withGguf(bf16Base, {
          gguf: 'F16',
          'gguf-dir': path.join(w, 'gguf'),
          'gguf-split': '100kB'
        })(w)
      )
    ).toMatchSnapshot()
  })
})
