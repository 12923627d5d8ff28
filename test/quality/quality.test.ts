/**
 * The quality foundation with the real tools: the reference of base + adapters written by the
 * helper in llama-perplexity's format, checked against numpy on logits this test extracts itself,
 * read back by the real llama-perplexity, and the GGUF types scored against it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { setupLlamaCpp, type LlamaCpp } from '../../src/gguf/toolchain.js'
import { evalChunking, readEvalData } from '../../src/quality/data.js'
import { scoreGguf } from '../../src/quality/perplexity.js'
import {
  makeReference,
  referenceFileBytes,
  scoreMlx,
  type Reference
} from '../../src/quality/reference.js'
import { CONVERSION_KLD_THRESHOLD } from '../../src/quality/thresholds.js'
import { firstTokenDifference } from '../../src/quality/tokenize.js'
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
let base: string
let adapters: string
let reference: Reference
let out: ReturnType<typeof captureStdout>

/** numpy on logits extracted here: per chunk, the log-softmax of the scored rows, and the perplexity. */
const KNOWN = `
import json, sys, numpy as np, mlx.core as mx
from mlx_lm import load
model, tok = load(sys.argv[1], adapter_path=sys.argv[2])
raw = open(sys.argv[3], 'rb').read()
n_ctx, n_vocab, n_chunk = np.frombuffer(raw[8:20], dtype=np.int32)
tokens = np.frombuffer(raw[20:20 + 4 * n_ctx * n_chunk], dtype=np.int32)
rows = n_ctx - 1 - n_ctx // 2
nv = 2 * ((n_vocab + 1) // 2) + 4
data = np.frombuffer(raw[20 + 4 * n_ctx * n_chunk:], dtype=np.uint16).reshape(n_chunk, rows, nv)
nll, worst = [], 0.0
for c in range(n_chunk):
    ids = tokens[c * n_ctx:(c + 1) * n_ctx].tolist()
    x = np.array(model(mx.array([ids])).astype(mx.float32))[0].astype(np.float64)[n_ctx // 2:n_ctx - 1]
    logp = x - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) - x.max(1, keepdims=True)
    nll += list(-logp[np.arange(rows), ids[n_ctx // 2 + 1:]])
    head = np.ascontiguousarray(data[c][:, :4]).view(np.float32)
    stored = head[:, :1] * data[c][:, 4:4 + n_vocab] + head[:, 1:2]
    kept = logp > logp.max(1, keepdims=True) - 15.9
    worst = max(worst, float((np.abs(stored - logp) / head[:, :1])[kept].max()))
print(json.dumps({"ppl": float(np.exp(np.mean(nll))), "worstSteps": worst, "count": len(nll)}))
`

beforeAll(async () => {
  out = captureStdout()
  work = await mkdtemp(join(tmpdir(), 'quality-'))
  llama = await setupLlamaCpp({
    dir: process.env.LLAMA_CPP_DIR,
    ref: 'unused',
    repoUrl: 'file:///nonexistent',
    toolCacheDir: work
  })
  base = (await realModel('llama', 'bf16')).dir
  adapters = (await realAdapters('llama', 'bf16', 'lora')).dir
  const data = await readEvalData(join(DATA_DIR, 'train.jsonl'))
  reference = await makeReference({
    python: mlxPython(),
    model: base,
    adapterPath: adapters,
    documents: data.documents,
    chunking: evalChunking({ evalTokens: 1024, context: 64 }),
    workDir: work,
    out: join(work, 'reference.kld')
  })
}, 600_000)

afterAll(async () => {
  out.restore()
  await rm(work, { recursive: true, force: true })
})

describe('the quality reference (base + adapters in MLX)', () => {
  it("is llama-perplexity's file, its log-probabilities and perplexity those numpy computes", async () => {
    expect(reference.nCtx).toBe(64)
    expect(reference.nVocab).toBe(50259)
    expect(reference.nChunk).toBeGreaterThanOrEqual(8)
    expect(reference.scored).toBe(reference.nChunk * 31)
    expect(BigInt((await stat(reference.file)).size)).toBe(reference.bytes)
    expect(reference.bytes).toBe(referenceFileBytes(50259, 64, reference.nChunk))
    const known = JSON.parse(
      execFileSync(mlxPython(), ['-c', KNOWN, base, adapters, reference.file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore']
      })
        .trim()
        .split('\n')
        .pop()!
    ) as { ppl: number; worstSteps: number; count: number }
    expect(known.count).toBe(reference.scored)
    // each stored value within a rounding step (plus float32 slack) of numpy's log-probability
    expect(known.worstSteps).toBeLessThan(1.5)
    expect(Math.abs(known.ppl / reference.ppl - 1)).toBeLessThan(1e-4)
  })

  it('defaults: 4096 tokens in chunks of 512 over a 128k vocabulary is about 523 MB', () => {
    const c = evalChunking({})
    expect(c).toEqual({ ctx: 512, evalTokens: 4096, maxChunks: 8 })
    // header 20 + ids 4 × 4096 + 8 chunks × 255 rows × (128256 + 4) × 2 bytes
    expect(referenceFileBytes(128256, 512, 8)).toBe(20n + 16_384n + 8n * 255n * 128_260n * 2n)
    expect(referenceFileBytes(128256, 512, 8)).toBe(523_317_204n)
  })

  it('scores base + adapters against itself as faithful and the base alone as far off, on both mlx-lm versions', async () => {
    for (const python of [mlxPython(), mlxOldPython()]) {
      const same = await scoreMlx({
        python,
        model: base,
        adapterPath: adapters,
        reference: reference.file
      })
      expect(Math.abs(same.meanKld)).toBeLessThan(1e-4)
      expect(same.sameTop).toBeGreaterThan(0.99)
      expect(same.count).toBe(reference.scored)
    }
    const bare = await scoreMlx({ python: mlxPython(), model: base, reference: reference.file })
    expect(bare.meanKld).toBeGreaterThan(0.1)
    expect(bare.pplBase).toBeCloseTo(reference.ppl, -1)
  })
})

describe('GGUF files against the reference (the real llama-perplexity)', () => {
  it('reads the reference back: F16 near zero, Q2_K above Q8_0, the same tokens', async () => {
    const fused = join(work, 'fused')
    // mlx-lm 0.28.3 saves a tokenizer the converter's transformers 4.57.6 reads as is
    execFileSync(
      mlxOldPython(),
      [
        ...['-m', 'mlx_lm', 'fuse', '--model', base, '--adapter-path', adapters],
        ...['--save-path', fused]
      ],
      { stdio: 'ignore' }
    )
    const f16 = join(work, 'F16.gguf')
    execFileSync(
      convertPython(),
      [llama.convertScript, fused, '--outfile', f16, '--outtype', 'f16'],
      {
        stdio: 'ignore'
      }
    )
    const figures: Record<
      string,
      { meanKld: number; sameTop: number; ppl: number; pplBase: number }
    > = {}
    for (const type of ['F16', 'Q8_0', 'Q2_K']) {
      const file = join(work, `${type}.gguf`)
      if (type !== 'F16') execFileSync(llama.quantize, [f16, file, type], { stdio: 'ignore' })
      figures[type] = await scoreGguf({
        perplexity: llama.perplexity!,
        gguf: file,
        reference: reference.file,
        nCtx: reference.nCtx,
        scored: reference.scored
      })
    }
    // llama-perplexity's PPL(base) is the reference's own perplexity: it read the file as written
    expect(Math.abs(figures.F16.pplBase / reference.ppl - 1)).toBeLessThan(1e-3)
    expect(figures.F16.meanKld).toBeLessThan(CONVERSION_KLD_THRESHOLD)
    expect(figures.Q2_K.meanKld).toBeGreaterThan(figures.Q8_0.meanKld)
    expect(figures.Q2_K.meanKld).toBeGreaterThan(CONVERSION_KLD_THRESHOLD)
    process.stderr.write(`[quality figures] ${JSON.stringify(figures)}\n`)
    // the GGUF's tokenizer gives the MLX ids on every document the reference used
    expect(
      await firstTokenDifference({
        tokenize: llama.tokenize!,
        gguf: f16,
        documents: reference.documents,
        workDir: work
      })
    ).toBeNull()
  }, 600_000)
})
