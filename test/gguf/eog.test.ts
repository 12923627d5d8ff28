import { describe, expect, it } from '@jest/globals'

import { eogTokenIds } from '../../src/gguf/eog.js'

const meta = (ids: Record<string, number>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(ids).map(([k, v]) => [`tokenizer.ggml.${k}_token_id`, v]))

describe('eogTokenIds (llama.cpp src/llama-vocab.cpp end-of-generation rule)', () => {
  it('takes EOS from the metadata and the end-of-turn token by its text (ChatML)', () => {
    const tokens = ['<unk>', '<s>', '</x>', 'hello', '<|im_start|>', '<|im_end|>', 'world']
    expect(eogTokenIds({ tokens, metadata: meta({ bos: 1, eos: 2 }) })).toEqual([2, 5])
  })

  it('adds eot and eom ids given by the metadata even when their text is not on the list', () => {
    const tokens = ['a', 'b', '<stop-turn>', '<stop-msg>', '<eos-x>']
    expect(eogTokenIds({ tokens, metadata: meta({ eos: 4, eot: 2, eom: 3 }) })).toEqual([2, 3, 4])
  })

  it('counts the FIM pad, repo and file-separator tokens (Qwen coder vocabularies)', () => {
    const tokens = ['<|endoftext|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', 'x']
    expect(eogTokenIds({ tokens, metadata: meta({ eos: 0 }) })).toEqual([0, 1, 2, 3])
  })

  it('never makes an ordinary token EOG without metadata', () => {
    expect(eogTokenIds({ tokens: ['a', 'b', 'end', '<end>'], metadata: {} })).toEqual([])
  })

  it('drops "<|end|>" when "<|return|>" and "<|call|>" are EOG (gpt-oss)', () => {
    const tokens = ['<|end|>', '<|return|>', '<|call|>', '<|start|>']
    expect(eogTokenIds({ tokens, metadata: {} })).toEqual([1, 2])
    // without "<|call|>" it stays
    expect(eogTokenIds({ tokens: ['<|end|>', '<|return|>'], metadata: {} })).toEqual([0, 1])
  })

  it('drops "</s>" when "<|tool_response>" is EOG (gemma4), keeps it otherwise', () => {
    expect(eogTokenIds({ tokens: ['</s>', '<|tool_response>', '<eos>'], metadata: {} })).toEqual([
      1, 2
    ])
    expect(eogTokenIds({ tokens: ['</s>', 'x'], metadata: {} })).toEqual([0])
  })

  it('reads ids written as bigint and ignores ids outside the vocabulary', () => {
    const metadata = { 'tokenizer.ggml.eos_token_id': 1n, 'tokenizer.ggml.eot_token_id': 99 }
    expect(eogTokenIds({ tokens: ['a', 'b'], metadata })).toEqual([1])
  })
})
