/**
 * The quality stage (src/quality/stage.ts) on its own, with the real tools: a 16-bit GGUF of the
 * fused tiny llama with one tensor changed (output_norm.weight scaled, as a mis-mapped weight
 * would) is scored by the real llama-perplexity above the conversion threshold, and the finding
 * says the tokenizers agree (llama-tokenize), so the weights differ. The working folder is gone
 * afterwards and the reference was counted on the workspace's disk ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { Workspace } from '../../src/core/workspace.js'
import type { MeasuredOutput } from '../../src/core/types.js'
import { readGgufHeader } from '../../src/gguf/verify.js'
import { setupLlamaCpp, type LlamaCpp } from '../../src/gguf/toolchain.js'
import { evalChunking, readEvalData } from '../../src/quality/data.js'
import {
  makeQualityReference,
  measureQuality,
  type QualityRequest,
  type QualityResult
} from '../../src/quality/stage.js'
import { CONVERSION_KLD_THRESHOLD } from '../../src/quality/thresholds.js'
import { captureStdout } from '../fixtures/llama-stand-in/helpers.js'
import {
  DATA_DIR,
  convertPython,
  mlxOldPython,
  mlxPython,
  realAdapters,
  realModel
} from '../fixtures/real.js'

let work: string
let llama: LlamaCpp
let result: QualityResult
let ws: Workspace
let out: ReturnType<typeof captureStdout>

/** Multiplies every F32 value of `tensor` in the GGUF `file` by `factor`, in place. */
async function scaleTensor(file: string, tensor: string, factor: number): Promise<void> {
  const h = await readGgufHeader(file)
  const t = h.tensors.find(x => x.name === tensor)!
  expect(t.dtype).toBe(0) // F32
  const count = t.shape.reduce((a, b) => a * b, 1)
  const handle = await fs.open(file, 'r+')
  try {
    const buf = Buffer.alloc(4 * count)
    await handle.read(buf, 0, buf.length, h.tensorDataOffset + t.offset)
    for (let i = 0; i < count; i++) buf.writeFloatLE(buf.readFloatLE(4 * i) * factor, 4 * i)
    await handle.write(buf, 0, buf.length, h.tensorDataOffset + t.offset)
  } finally {
    await handle.close()
  }
}

beforeAll(async () => {
  out = captureStdout()
  work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'quality-stage-')))
  llama = await setupLlamaCpp({
    dir: process.env.LLAMA_CPP_DIR,
    ref: 'unused',
    repoUrl: 'file:///nonexistent',
    toolCacheDir: work
  })
  const base = (await realModel('llama', 'bf16')).dir
  const adapters = (await realAdapters('llama', 'bf16', 'lora')).dir
  const fused = path.join(work, 'fused')
  // mlx-lm 0.28.3 saves a tokenizer the converter's transformers reads as is
  execFileSync(
    mlxOldPython(),
    ['-m', 'mlx_lm', 'fuse', '--model', base, '--adapter-path', adapters, '--save-path', fused],
    { stdio: 'ignore' }
  )
  const f16 = path.join(work, 'F16.gguf')
  execFileSync(
    convertPython(),
    [llama.convertScript, fused, '--outfile', f16, '--outtype', 'f16'],
    {
      stdio: 'ignore'
    }
  )
  await scaleTensor(f16, 'output_norm.weight', 3)
  const data = await readEvalData(path.join(DATA_DIR, 'train.jsonl'))
  const f16Output: MeasuredOutput = {
    name: 'F16',
    kind: 'gguf',
    path: f16,
    bytes: (await fs.stat(f16)).size,
    files: 1,
    format: 'GGUF F16',
    parameters: null,
    bitsPerWeight: null
  }
  ws = new Workspace()
  const req: QualityRequest = {
    data,
    sha256: '0'.repeat(64),
    bytes: 1,
    chunking: evalChunking({ evalTokens: 512, context: 64 }),
    python: mlxPython(),
    base,
    adapterPath: adapters,
    outputDir: path.join(work, 'fused-model'),
    mlxQuantized: false,
    perplexity: llama.perplexity,
    tokenize: llama.tokenize
  }
  const reference = await makeQualityReference(req, ws)
  result = await measureQuality(
    req,
    reference,
    { outputs: [f16Output], commands: [], diagnoses: [], notes: [] },
    ws
  )
}, 900_000)

afterAll(async () => {
  out.restore()
  if (work) await fs.rm(work, { recursive: true, force: true })
})

describe('a 16-bit GGUF with one tensor changed', () => {
  it('diverges from base + adapters, and the finding says the tokenizers agree', () => {
    const f16 = result.outputs[0]
    expect(f16.quality!.meanKld).toBeGreaterThan(10 * CONVERSION_KLD_THRESHOLD)
    expect(f16.quality!.tokens).toBe(8 * 31)
    const finding = result.diagnoses.find(d => d.output === 'F16')!
    expect(finding.level).toBe('warning')
    expect(finding.title).toBe('F16 does not reproduce base + adapters')
    expect(finding.text).toContain(`above the ${CONVERSION_KLD_THRESHOLD} a faithful 16-bit`)
    expect(finding.text).toContain(
      "The GGUF's tokenizer gives the MLX tokenizer's ids on every document, so the weights or the model graph differ"
    )
  })

  it('removes its working folder, after counting the reference on the disk ledger', async () => {
    const left = (await fs.readdir(work)).filter(n => n.includes('quality'))
    expect(left).toEqual([])
    expect(ws.peakBytes).toBeGreaterThanOrEqual(result.quality!.reference.bytes)
    expect(result.quality!.chunking).toMatchObject({ context: 64, chunks: 8, scoredTokens: 248 })
  })
})
