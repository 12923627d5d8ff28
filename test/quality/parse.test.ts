/** The quality module's readers: eval data, the chunking, llama-perplexity's and llama-tokenize's output. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { ActionError } from '../../src/core/types.js'
import { evalChunking, modelContextLength, readEvalData } from '../../src/quality/data.js'
import { parseKlDivergence } from '../../src/quality/perplexity.js'
import { firstDifference, parseIds } from '../../src/quality/tokenize.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'quality-parse-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

// as the real llama-perplexity v0.4.0 printed them for a tiny llama's Q2_K (chunk rows abridged)
const ROW_1 =
  '   1    3725.1767 ± 2042.7858      -0.01300 ±    0.02649       0.00968 ±    0.00017     0.156 ±  0.040 %    100.000 ±  0.000 %'
const ROW_12 =
  '  12    6993.0271 ± 1091.9215       0.04539 ±    0.00958       0.01322 ±    0.00027     0.192 ±  0.014 %    96.774 ±  0.917 %'
const FINAL = [
  'Mean PPL(Q)                   : 6993.027137 ± 1091.921524',
  'Mean PPL(base)                : 6682.726866 ± 1066.309696',
  'Mean    KLD:   0.013218 ±   0.000269',
  'Same top p: 96.774 ± 0.917 %'
].join('\n')

describe("llama-perplexity's KL divergence output", () => {
  it('reads the closing statistics', () => {
    expect(parseKlDivergence(`${ROW_1}\n${ROW_12}\n\n${FINAL}\n`)).toEqual({
      ppl: 6993.027137,
      pplBase: 6682.726866,
      meanKld: 0.013218,
      sameTop: 0.96774
    })
  })
  it('reads the last chunk row when fewer than 100 tokens gave no closing statistics', () => {
    const got = parseKlDivergence(`${ROW_1}\n${ROW_12}\n`)!
    expect(got.ppl).toBe(6993.0271)
    expect(got.meanKld).toBe(0.01322)
    expect(got.sameTop).toBeCloseTo(0.96774, 10)
    expect(got.pplBase).toBeCloseTo(6993.0271 / Math.exp(0.04539), 6)
  })
  it('finds nothing in output without figures', () => {
    expect(parseKlDivergence('kl_divergence: failed reading log-probs for chunk 3\n')).toBeNull()
  })
})

describe("llama-tokenize's ids", () => {
  it('parses the list and finds the first difference', () => {
    expect(parseIds('[15496, 198, 995, 50257, 198]\n')).toEqual([15496, 198, 995, 50257, 198])
    expect(parseIds('[]')).toEqual([])
    expect(parseIds('no ids')).toBeNull()
    expect(firstDifference([1, 2, 3], [1, 2, 3])).toBeNull()
    expect(firstDifference([1, 2, 3], [1, 5, 3])).toBe(1)
    expect(firstDifference([1, 2], [1, 2, 3])).toBe(2)
  })
})

describe('eval data', () => {
  it('reads text, prompt/completion (as user and assistant turns) and chat messages', async () => {
    const text = join(work, 'eval.txt')
    await writeFile(text, 'Some text.\n')
    expect(await readEvalData(text)).toEqual({
      file: text,
      format: 'text',
      documents: [{ text: 'Some text.\n' }]
    })
    const comp = join(work, 'comp.jsonl')
    await writeFile(comp, '{"prompt": "Hi?", "completion": "Hello."}\n\n')
    expect((await readEvalData(comp)).documents).toEqual([
      {
        messages: [
          { role: 'user', content: 'Hi?' },
          { role: 'assistant', content: 'Hello.' }
        ]
      }
    ])
    const chat = join(work, 'chat.jsonl')
    await writeFile(chat, '{"messages": [{"role": "user", "content": "a"}], "tools": [{"x": 1}]}\n')
    expect(await readEvalData(chat)).toMatchObject({
      format: 'chat-jsonl',
      documents: [{ messages: [{ role: 'user', content: 'a' }], tools: [{ x: 1 }] }]
    })
  })
  it('takes a dataset folder’s valid.jsonl', async () => {
    const dir = join(work, 'data')
    await rm(dir, { recursive: true, force: true })
    await import('node:fs/promises').then(fs => fs.mkdir(dir))
    await writeFile(join(dir, 'valid.jsonl'), '{"text": "x"}\n')
    expect(await readEvalData(dir)).toMatchObject({
      file: join(dir, 'valid.jsonl'),
      format: 'text-jsonl'
    })
  })
  it('refuses a bad line in one sentence naming the file and the line', async () => {
    const bad = join(work, 'bad.jsonl')
    await writeFile(bad, '{"text": "ok"}\n{"question": "x"}\n')
    const err = await readEvalData(bad).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ActionError)
    expect((err as Error).message).toBe(
      `Line 2 of ${bad} (input eval-data) has none of "text", "prompt"/"completion" or "messages" (its keys: "question"): each line needs "text", "prompt" and "completion", or chat "messages", as mlx-lm's datasets do.`
    )
    await expect(readEvalData(join(work, 'missing.txt'))).rejects.toThrow(
      /^Input eval-data is ".*missing\.txt", which does not exist/
    )
  })
})

describe('chunking', () => {
  it('uses context 512, the model’s own when smaller, and needs a chunk of tokens', () => {
    expect(evalChunking({ modelContext: 2048 })).toEqual({
      ctx: 512,
      evalTokens: 4096,
      maxChunks: 8
    })
    expect(evalChunking({ modelContext: 128, evalTokens: 1000 })).toEqual({
      ctx: 128,
      evalTokens: 1000,
      maxChunks: 7
    })
    expect(() => evalChunking({ evalTokens: 100 })).toThrow(/less than one chunk of 512 tokens/)
    expect(modelContextLength({ max_position_embeddings: 2048 })).toBe(2048)
    expect(modelContextLength({ text_config: { max_position_embeddings: 8192 } })).toBe(8192)
    expect(modelContextLength({})).toBeNull()
  })
})
