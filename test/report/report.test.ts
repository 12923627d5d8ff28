import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { judge, parseBudgets } from '../../src/budget/index.js'
import { diagnose } from '../../src/mlx/diagnose.js'
import {
  annotate,
  changeFromBase,
  percentChange,
  dtypeMix,
  setOutputs,
  writeManifest,
  writeSummary,
  type ManifestOutputV1,
  type ManifestV1,
  type RunReport
} from '../../src/report/index.js'
import type { FuseFacts, MeasuredOutput, WeightStats } from '../../src/core/types.js'
import { decodeCommand } from '../fixtures/action.js'
import { useRunnerFiles } from '../fixtures/runner-files.js'
import { ADAPTERS, readValidManifest } from '../fixtures/manifest.js'

let stdout: string[]
const spy = jest.spyOn(process.stdout, 'write')

const runner = useRunnerFiles('report')

beforeEach(() => {
  stdout = []
  spy.mockImplementation(chunk => {
    stdout.push(String(chunk))
    return true
  })
})
afterAll(() => spy.mockRestore())

const stats = (parameters: number, quantized: boolean, floatDtype = 'BF16'): WeightStats => ({
  parameters,
  bytesByDtype: {},
  tensorBytes: 0,
  quantized,
  floatDtype
})

/** The seed's trap: a 3B bf16 base, dequantize false, fused to ~6 GB. */
const fullPrecisionFacts: FuseFacts = {
  baseModel: 'ibm-granite/granite-4.0-h-micro',
  baseQuantization: null,
  fused: {
    quantization: { bits: null, groupSize: null, mode: null },
    stats: stats(3_035_000_000, false),
    bytes: 6_070_000_000,
    precision: 'bfloat16 (not quantized)'
  },
  requantized: null,
  dequantize: false,
  quantizeBits: null,
  quantizeGroupSize: 64
}

function reportFor(bytes: number, budget: string, mode: 'fail' | 'warn'): RunReport {
  const output: MeasuredOutput = {
    name: 'mlx',
    kind: 'mlx',
    path: path.join(runner.dir, 'fused'),
    bytes,
    files: 7,
    format: 'MLX safetensors, bfloat16 (not quantized)',
    parameters: 3_035_000_000,
    bitsPerWeight: (bytes * 8) / 3_035_000_000
  }
  return {
    baseModel: 'ibm-granite/granite-4.0-h-micro',
    baseBytes: null,
    adapterPath: '/adapters',
    mlxLm: { version: '0.32.2', python: '/venv/bin/python', source: 'venv' },
    llamaCpp: null,
    commands: [{ what: 'Fuse', argv: ['python', '-m', 'mlx_lm', 'fuse', '--model', 'm'] }],
    outputs: judge([output], parseBudgets(budget, new Set())),
    diagnoses: diagnose(fullPrecisionFacts),
    notes: [],
    onOverBudget: mode,
    manifestPath: path.join(runner.dir, 'fused.manifest.json'),
    peakDiskBytes: 2 * bytes
  }
}

describe('diagnose', () => {
  it('explains a full-precision fuse of a never-quantized base, with both fixes', () => {
    const [d] = diagnose(fullPrecisionFacts)
    expect(d.level).toBe('warning')
    expect(d.text).toContain('was never quantized (its weights are bfloat16)')
    expect(d.text).toContain('6.07 GB (5.65 GiB)')
    expect(d.text).toContain('16.00 bits per weight')
    // 3.035e9 params at 4 bits + bf16 scales/biases per 64: 1,517,500,000 + 189,687,500
    expect(d.text).toContain('about 1.71 GB')
    expect(d.text).toMatch(/quantized base .* quantize-bits: 4/)
  })

  it('reports a re-quantization instead of warning when quantize-bits was set', () => {
    const [d] = diagnose({
      ...fullPrecisionFacts,
      quantizeBits: 4,
      requantized: { bits: 4, groupSize: 64, bytes: 1_710_000_000 }
    })
    expect(d.level).toBe('notice')
    expect(d.text).toContain('re-quantized it to 4-bit (group 64): 1.71 GB')
  })

  it('warns about issue 1172 when a 4-bit base stays 4-bit', () => {
    const [d] = diagnose({
      ...fullPrecisionFacts,
      baseQuantization: { bits: 4, groupSize: 64, mode: 'affine' },
      fused: {
        quantization: { bits: 4, groupSize: 64, mode: 'affine' },
        stats: stats(3_035_000_000, true),
        bytes: 1_710_000_000,
        precision: '4-bit affine, group 64'
      },
      quantizeBits: 4
    })
    expect(d.text).toContain("keeps the base's quantization")
    expect(d.text).toContain('mlx-lm issue 1172')
    expect(d.text).toContain('quantize-bits: 4 was not applied')
  })

  it('says what de-quantizing cost when the base was 4-bit', () => {
    const [d] = diagnose({
      ...fullPrecisionFacts,
      dequantize: true,
      baseQuantization: { bits: 4, groupSize: 64, mode: 'affine' }
    })
    expect(d.title).toMatch(/De-quantized as asked/)
    expect(d.text).toContain(
      'The base was 4-bit; without dequantize the fused model would stay 4-bit, about 1.71 GB'
    )
  })
})

describe('report', () => {
  it('fails an over-budget output with the figures, in the summary, outputs and annotations', async () => {
    const report = reportFor(6_070_000_000, 'mlx=2.5GB', 'fail')
    setOutputs(report)
    annotate(report)
    await writeSummary(report)
    const summary = await fs.readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8')
    expect(summary).toContain('Over the size budget: this step fails')
    expect(summary).toContain('6.07 GB (5.65 GiB)')
    expect(summary).toContain('6.07 GB (5.65 GiB)<br><sub>6,070,000,000 bytes in 7 files</sub>')
    expect(summary).toContain('❌ over by 143%')
    expect(summary).toContain('−3.57 GB (3.32 GiB)')
    expect(summary).toContain('was never quantized')
    const errors = stdout.filter(l => l.startsWith('::error')).map(decodeCommand)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(
      'mlx: 6.07 GB (5.65 GiB) is over its budget of 2.50 GB by 143% (size-budget entry "mlx=2.5GB")'
    )
    const outputs = await fs.readFile(process.env.GITHUB_OUTPUT!, 'utf8')
    expect(outputs).toMatch(/within-budget<<.*\nfalse\n/)
    expect(outputs).toMatch(/fused-bytes<<.*\n6070000000\n/)
    expect(outputs).toMatch(/sizes<<.*\n\{"mlx":6070000000\}\n/)
  })

  it('only warns in warn mode, and passes within budget', async () => {
    annotate(reportFor(6_070_000_000, '2.5GB', 'warn'))
    expect(stdout.filter(l => l.startsWith('::error'))).toHaveLength(0)
    expect(
      stdout.filter(l => l.startsWith('::warning') && l.includes('is over its budget'))
    ).toHaveLength(1)

    const ok = reportFor(2_000_000_000, '2.5GiB', 'fail')
    setOutputs(ok)
    await writeSummary(ok)
    const summary = await fs.readFile(process.env.GITHUB_STEP_SUMMARY!, 'utf8')
    expect(summary).toContain('✅ within budget')
    expect(summary).toContain('+684.35 MB (652.65 MiB)')
    expect(await fs.readFile(process.env.GITHUB_OUTPUT!, 'utf8')).toMatch(
      /within-budget<<.*\ntrue\n/
    )
  })

  it('records the commit the run is for (GITHUB_SHA) as runCommit, and null for anything else', async () => {
    const extra = {
      folders: { outputDir: path.join(runner.dir, 'fused'), ggufDir: null, intermediates: null },
      fuse: { dequantize: false, quantizeBits: null, quantizeGroupSize: 64, adapters: ADAPTERS },
      baseModelSource: null,
      gguf: null,
      quality: null
    }
    const saved = process.env.GITHUB_SHA
    try {
      for (const [sha, expected] of [
        ['0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
        ['not a commit', null],
        ['', null]
      ] as const) {
        process.env.GITHUB_SHA = sha
        const report = reportFor(1_000, 'mlx=2.5GB', 'fail')
        await writeManifest(report, extra)
        const manifest = await readValidManifest<ManifestV1>(report.manifestPath)
        expect({ sha, runCommit: manifest.runCommit }).toEqual({ sha, runCommit: expected })
      }
    } finally {
      if (saved === undefined) delete process.env.GITHUB_SHA
      else process.env.GITHUB_SHA = saved
    }
  })

  it('writes a schemaVersion 1 manifest beside the output', async () => {
    const report = reportFor(6_070_000_000, 'mlx=2.5GB', 'fail')
    await writeManifest(report, {
      folders: { outputDir: path.join(runner.dir, 'fused'), ggufDir: null, intermediates: null },
      fuse: { dequantize: false, quantizeBits: null, quantizeGroupSize: 64, adapters: ADAPTERS },
      baseModelSource: null,
      gguf: null,
      quality: null
    })
    const manifest = await readValidManifest<ManifestV1>(report.manifestPath)
    // The public contract: exactly the keys ManifestV1 names (the compiler keeps this list whole).
    const keys: Record<keyof ManifestV1, true> = {
      schemaVersion: true,
      generator: true,
      createdAt: true,
      status: true,
      runCommit: true,
      baseModel: true,
      baseModelBytes: true,
      adapterPath: true,
      mlxLm: true,
      llamaCpp: true,
      folders: true,
      fuse: true,
      baseModelSource: true,
      gguf: true,
      quality: true,
      withinBudget: true,
      onOverBudget: true,
      peakDiskBytes: true,
      outputs: true,
      diagnoses: true,
      commands: true
    }
    expect(Object.keys(manifest).sort()).toEqual(Object.keys(keys).sort())
    const outputKeys: Array<keyof ManifestOutputV1> = ['budgetBytes', 'budget', 'headroomBytes']
    for (const key of outputKeys) expect(manifest.outputs[0]).toHaveProperty(key)
    expect(manifest.outputs[0]).not.toHaveProperty('verdict')
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      status: 'complete',
      withinBudget: false,
      peakDiskBytes: 12_140_000_000,
      fuse: { dequantize: false },
      outputs: [
        {
          name: 'mlx',
          bytes: 6_070_000_000,
          budgetBytes: 2_500_000_000,
          status: 'over',
          headroomBytes: -3_570_000_000
        }
      ]
    })
  })
})

describe('dtypeMix', () => {
  it('lists the dtypes of the tensor data, largest first, in percent', () => {
    expect(dtypeMix({ BF16: 250, U32: 740, F32: 10 })).toBe('U32 74%, BF16 25%, F32 1%')
    expect(dtypeMix({ U32: 999, F32: 1 })).toBe('U32 100%, F32 0.1%')
    expect(dtypeMix({})).toBe('')
  })
})

describe('changeFromBase', () => {
  it('says how much the fuse grew or shrank the model against its base', () => {
    expect(changeFromBase(6_070_000_000, 2_000_000_000)).toBe('+4.07 GB (+204 %)')
    expect(changeFromBase(1_710_000_000, 6_000_000_000)).toBe('−4.29 GB (−72 %)')
  })

  it('prints small changes with one decimal or as <0.1 %, never as +0%', () => {
    // the tiny example: 848,342 bytes fused from a base of 844,490
    expect(changeFromBase(848_342, 844_490)).toBe('+3.85 kB (+0.5 %)')
    expect(percentChange(-9_990, 100_000)).toBe('−10.0 %')
    expect(percentChange(5, 1_000_000)).toBe('<0.1 %')
    expect(percentChange(-5, 1_000_000)).toBe('<0.1 %')
    expect(percentChange(0, 1_000_000)).toBe('0 %')
    expect(changeFromBase(1_000, 1_000)).toBe('0 B (0 %)')
  })
})
