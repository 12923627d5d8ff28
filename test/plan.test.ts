/**
 * preflight() in-process: it returns what it resolves in the plan and never writes into the
 * configuration it was given (issue 16, move 3). A repo-id base comes from the loopback fake of
 * the Hub (test/fixtures/hub.ts); mlx_lm is the stand-in python. The compiler keeps Config and
 * Plan read-only (test/readonly.typecheck.ts); this proves it at run time on a frozen Config.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../src/core/config.js'
import { thisMachine } from '../src/core/machine.js'
import * as core from './__fixtures__/core.js'
import { readFolder, startFakeHub, type FakeHub } from './fixtures/hub.js'
import { makeAdapters, makeStandInPython, makeTinyModel } from './fixtures/tiny.js'

jest.unstable_mockModule('@actions/core', () => core)
const { preflight } = await import('../src/plan.js')

const COMMIT = 'c'.repeat(40)
let root: string
let hub: FakeHub
let adapters: string
let python: string
const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HOME: process.env.HF_HOME }

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'plan-')))
  const model = await makeTinyModel(path.join(root, 'tiny'), { dtype: 'bf16' })
  ;[adapters, python] = await Promise.all([
    makeAdapters(path.join(root, 'adapters'), model),
    makeStandInPython(path.join(root, 'env'))
  ])
  hub = await startFakeHub({
    'org/tiny': { refs: { main: COMMIT }, commits: { [COMMIT]: await readFolder(model) } }
  })
  process.env.HF_ENDPOINT = hub.url
  process.env.HF_HOME = path.join(root, 'hf')
}, 120_000)

afterAll(async () => {
  await hub?.close()
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

/** Freezes an object and everything it holds, as a read-only type promises. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/** A Config as readInputs makes it for an MLX-only run of `baseModel`. */
function configFor(baseModel: string, baseModelDir: string | null, out: string): Config {
  return {
    baseModel,
    baseModelDir,
    adapterPath: adapters,
    outputDir: out,
    manifestPath: `${out}.manifest.json`,
    dequantize: false,
    quantizeBits: null,
    quantizeGroupSize: 64,
    budgets: [],
    growthBudgets: [],
    comment: { mode: 'false', token: '', artifactName: 'fused-model' },
    cacheToolchain: false,
    onOverBudget: 'fail',
    python,
    mlxLmVersion: '0.32.2',
    overwrite: false,
    hfToken: null,
    revision: null,
    trustRemoteCode: false,
    gguf: null,
    hub: null,
    baseline: { branch: null, threshold: null, token: '', name: 'fused-model' },
    upload: {
      upload: false,
      prefix: 'fused-model',
      retentionDays: null,
      uploadOverBudget: false,
      removeAfterUpload: false
    }
  }
}

describe('preflight', () => {
  it('returns a repo-id base resolved to its Hub snapshot, leaving the config as it was', async () => {
    const out = path.join(await fs.mkdtemp(path.join(root, 'hub-run-')), 'fused-model')
    const config = deepFreeze(configFor('org/tiny', null, out))
    const before = JSON.stringify(config)
    const plan = await preflight(config, thisMachine())
    const snapshot = path.join(root, 'hf', 'hub', 'models--org--tiny', 'snapshots', COMMIT)
    expect(plan.hub?.snapshotDir).toBe(snapshot)
    // every later step reads the snapshot through the plan: the fuse's --model is that folder
    expect(plan.base.dir).toBe(snapshot)
    expect(plan.mlx.fuse.model).toBe(snapshot)
    expect(JSON.stringify(config)).toBe(before)
  })

  it('returns a local base-model folder as the base the fuse reads', async () => {
    const out = path.join(await fs.mkdtemp(path.join(root, 'local-run-')), 'fused-model')
    const local = path.join(root, 'tiny')
    const plan = await preflight(deepFreeze(configFor(local, local, out)), thisMachine())
    expect(plan.hub).toBeNull()
    expect(plan.base).toMatchObject({ dir: local, quantization: { bits: null } })
    expect(plan.mlx.fuse.model).toBe(local)
  })
})
