/**
 * One chat turn through a GGUF's own chat template (issue 19), with the real tools: a tiny real
 * model with a ChatML template (test/fixtures/real.ts), converted by the real convert_hf_to_gguf.py,
 * and the real llama-completion in `-cnv -st` mode. A random model never ends its reply by itself,
 * so the end-of-turn token is biased (`--logit-bias`): a file whose end-of-generation set holds it
 * must end the turn at once; a biased ordinary token must not end it.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { convertToGguf } from '../../src/gguf/convert.js'
import { chatTurn, endOfTurnToken } from '../../src/gguf/smoke.js'
import { chatFacts, readGgufHeader, type ChatFacts } from '../../src/gguf/verify.js'
import { realLlamaCpp } from '../fixtures/llama-stand-in/helpers.js'
import { convertPython, realModel } from '../fixtures/real.js'

const llama = realLlamaCpp()
let file: string
let chat: ChatFacts

beforeAll(async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'chat-turn-'))
  file = path.join(work, 'model-f16.gguf')
  await convertToGguf({
    python: convertPython(),
    script: llama.convertScript,
    modelDir: (await realModel('llama', 'bf16')).dir,
    outFile: file,
    outType: 'f16'
  })
  chat = chatFacts(await readGgufHeader(file))
}, 900_000)

describe('one chat turn through the file’s own template, real llama-completion', () => {
  it('finds the end-of-turn token the template writes among the end-of-generation tokens', () => {
    expect(chat.template).toContain('<|im_end|>')
    const eot = endOfTurnToken(chat)
    expect(eot).toEqual({ id: chat.eog[chat.eogTexts.indexOf('<|im_end|>')], text: '<|im_end|>' })
    expect(endOfTurnToken({ ...chat, template: null })).toBeNull()
  })

  it('ends at once when the end-of-turn token is biased, and the biased ordinary token never ends it', async () => {
    const eot = endOfTurnToken(chat)!
    const ended = await chatTurn({
      bin: llama.completion,
      model: file,
      tokens: 16,
      bias: { id: eot.id, by: 100 }
    })
    expect(ended.ended).toBe(true)
    // A token outside the end-of-generation set, biased the same way: 16 tokens and no end.
    const ordinary = [...Array(200).keys()].find(id => !chat.eog.includes(id))!
    const runs = await chatTurn({
      bin: llama.completion,
      model: file,
      tokens: 16,
      bias: { id: ordinary, by: 100 }
    })
    expect(runs.ended).toBe(false)
    expect(runs.tokens).toBe(16)
  }, 300_000)

  it('fails in one sentence when the file is missing', async () => {
    await expect(
      chatTurn({ bin: llama.completion, model: path.join(path.dirname(file), 'none.gguf') })
    ).rejects.toThrow(/^The chat turn cannot find .*none\.gguf; the GGUF file was not written\.$/)
  })
})
