/**
 * The committed JSON Schema of the manifest (schema/manifest-v1.schema.json): the manifests the
 * writer makes pass it, and it refuses what a workflow could not rely on, so the check the other
 * suites run on every manifest can fail.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { judge, parseBudgets } from '../../src/budget/index.js'
import type { MeasuredOutput } from '../../src/core/types.js'
import {
  manifestV1,
  writeFailureManifest,
  type ManifestExtra,
  type ManifestV1,
  type RunReport
} from '../../src/report/index.js'
import { ADAPTERS, expectValidManifest, manifestSchemaErrors } from '../fixtures/manifest.js'
import { useRunnerFiles } from '../fixtures/runner-files.js'

const runner = useRunnerFiles('manifest-schema')

const mlx: MeasuredOutput = {
  name: 'mlx',
  kind: 'mlx',
  path: 'out/fused-model',
  bytes: 6_070_000_000,
  files: 2,
  format: 'MLX safetensors, 4-bit affine (group 64)',
  parameters: 1_475_840,
  bitsPerWeight: 4.5,
  sha256Files: { 'model.safetensors': 'ab'.repeat(32), 'config.json': 'cd'.repeat(32) },
  bytesByDtype: { U32: 1200, BF16: 80 },
  quality: {
    ppl: 12.5,
    pplReference: 12.1,
    pplChange: 12.5 / 12.1 - 1,
    meanKld: 0.031,
    agreement: 0.93,
    tokens: 1984,
    scoredBy: 'mlx'
  }
}

const q8: MeasuredOutput = {
  name: 'Q8_0',
  kind: 'gguf',
  path: 'out/fused-model-Q8_0.gguf',
  bytes: 1_580_832,
  files: 2,
  format: 'GGUF Q8_0',
  parameters: null,
  bitsPerWeight: null,
  sha256: 'ef'.repeat(32),
  shards: [
    { path: 'out/a-00001-of-00002.gguf', bytes: 1_000_000, sha256: '01'.repeat(32) },
    { path: 'out/a-00002-of-00002.gguf', bytes: 580_832, sha256: '02'.repeat(32) }
  ]
}

const report: RunReport = {
  baseModel: 'mlx-community/tiny',
  baseBytes: null,
  adapterPath: 'adapters',
  mlxLm: { version: '0.31.1', python: 'python3', source: 'locked' },
  llamaCpp: { version: 'b7000', commit: 'a'.repeat(40), dir: 'llama.cpp' },
  commands: [{ what: 'fuse', argv: ['python3', '-m', 'mlx_lm', 'fuse'] }],
  outputs: judge([mlx, q8], parseBudgets('mlx=2.5GB, Q8_0=2MB', new Set(['Q8_0']))),
  diagnoses: [{ level: 'warning', title: 't', text: 'x', output: 'mlx' }],
  notes: [],
  onOverBudget: 'fail',
  manifestPath: 'out/fused-model.manifest.json',
  peakDiskBytes: 12_140_000_000
}

const extra: ManifestExtra = {
  folders: { outputDir: 'out/fused-model', ggufDir: 'out', intermediates: null },
  fuse: { dequantize: false, quantizeBits: null, quantizeGroupSize: 64, adapters: ADAPTERS },
  baseModelSource: {
    repo: 'mlx-community/tiny',
    revision: 'main',
    commit: 'b'.repeat(40),
    endpoint: 'https://huggingface.co',
    snapshot: 'cache/snapshot',
    downloadedBytes: 6_000
  },
  gguf: {
    types: ['Q8_0'],
    auto: {
      type: 'Q8_0',
      budgetText: 'gguf=2MB',
      candidates: [
        { type: 'Q8_0', predictedBytes: 1_600_000, method: 'estimate', budgetBytes: 2_000_000 }
      ]
    },
    dir: 'out',
    intermediates: null,
    convertPython: 'python3'
  },
  quality: {
    evalData: {
      path: 'data/valid.jsonl',
      format: 'chat-jsonl',
      documents: 40,
      sha256: '12'.repeat(32),
      bytes: 20_480
    },
    chunking: {
      context: 512,
      chunks: 8,
      maxTokens: 4096,
      tokens: 4096,
      scoredTokens: 2040,
      bosReplaced: true
    },
    reference: { ppl: 12.1, vocabulary: 128_256, bytes: 523_317_204 },
    adapterEffect: { meanKld: 0.4, agreement: 0.7, ppl: 15.2 },
    conversionThreshold: 5e-4,
    seconds: 41.5
  }
}

/** A fresh copy of a valid completed manifest, to break one field of. */
const complete = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify(manifestV1(report, extra))) as Record<string, unknown>

describe('the manifest schema', () => {
  it('accepts the completed manifest the writer makes, every optional section filled', () => {
    expectValidManifest(complete())
    const bare: ManifestV1 = manifestV1(
      { ...report, llamaCpp: null, outputs: judge([mlx], []), diagnoses: [] },
      { ...extra, baseModelSource: null, gguf: null, quality: null }
    )
    expectValidManifest(JSON.parse(JSON.stringify(bare)))
    // A manifest from before the quality measurements (no quality key) is still version 1.
    const older = JSON.parse(JSON.stringify(bare)) as Record<string, unknown>
    delete older.quality
    expectValidManifest(older)
    const wrong = complete()
    ;(wrong.quality as { chunking: { context: number } }).chunking.context = 2
    expect(manifestSchemaErrors(wrong)).toContainEqual('/quality/chunking/context must be >= 4')
  })

  it('accepts the failed-run manifest as written to disk', async () => {
    const file = path.join(runner.dir, 'failed.manifest.json')
    await writeFailureManifest(file, extra.folders, 'The run has not finished.')
    expectValidManifest(JSON.parse(await fs.readFile(file, 'utf8')))
  })

  it('refuses a manifest with a missing field', () => {
    const m = complete()
    delete m.withinBudget
    expect(manifestSchemaErrors(m)).toContainEqual("/ must have required property 'withinBudget'")
    const outputs = complete().outputs as Array<Record<string, unknown>>
    delete outputs[0].bytes
    expect(manifestSchemaErrors({ ...complete(), outputs })).toContainEqual(
      "/outputs/0 must have required property 'bytes'"
    )
  })

  it('refuses a manifest with an ill-typed field', () => {
    const outputs = complete().outputs as Array<Record<string, unknown>>
    outputs[1].bytes = '1580832'
    expect(manifestSchemaErrors({ ...complete(), outputs })).toContainEqual(
      '/outputs/1/bytes must be integer'
    )
    expect(manifestSchemaErrors({ ...complete(), schemaVersion: 2 })).toContainEqual(
      '/schemaVersion must be equal to constant'
    )
    expect(manifestSchemaErrors({ ...complete(), onOverBudget: 'maybe' })).toContainEqual(
      '/onOverBudget must be equal to one of the allowed values'
    )
  })

  it('refuses a field the contract does not name (a new field needs the schema first)', () => {
    expect(manifestSchemaErrors({ ...complete(), verdict: 'over' })).toContainEqual(
      '/ must NOT have additional properties'
    )
  })

  it('refuses a failed manifest that reports sizes or a pass', async () => {
    const file = path.join(runner.dir, 'failed.manifest.json')
    await writeFailureManifest(file, extra.folders, 'boom')
    const failed = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    expect(manifestSchemaErrors({ ...failed, withinBudget: true })).toContainEqual(
      '/withinBudget must be equal to constant'
    )
    expect(manifestSchemaErrors({ ...failed, outputs: [complete().outputs] })).toContainEqual(
      '/outputs must NOT have more than 0 items'
    )
  })
})
