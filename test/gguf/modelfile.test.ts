import { describe, expect, it } from '@jest/globals'

import { KNOWN_TEMPLATES } from '../../src/gguf/chat-templates.js'
import { modelfile, modelfileName } from '../../src/gguf/modelfile.js'

/** Ollama's parser/parser.go unquote, for the values this writer quotes. */
function unquote(value: string): string {
  if (value.startsWith('"""') && value.endsWith('"""') && value.length >= 6)
    return value.slice(3, -3)
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) return value.slice(1, -1)
  return value
}

const chatml = KNOWN_TEMPLATES.find(t => t.name === 'chatml')!

describe('modelfile', () => {
  it('names the Modelfile after its GGUF', () => {
    expect(modelfileName('tiny-Q4_K_M.gguf')).toBe('tiny-Q4_K_M.Modelfile')
  })

  it('writes FROM, one PARAMETER stop per EOG token and the known TEMPLATE for ChatML', () => {
    const m = modelfile({
      ggufName: 'tiny-f16.gguf',
      stopTokens: ['</s>', '<|im_end|>'],
      chatTemplate: chatml.jinja
    })
    const lines = m.text.split('\n')
    expect(lines[0]).toBe('FROM ./tiny-f16.gguf')
    const stops = lines
      .filter(l => l.startsWith('PARAMETER stop '))
      .map(l => unquote(l.slice('PARAMETER stop '.length)))
    expect(stops).toEqual(['</s>', '<|im_end|>'])
    expect(m.template).toBe('chatml')
    expect(m.text).toContain(`TEMPLATE """${chatml.ollama}"""\n`)
  })

  it('applies a LoRA GGUF to the FROM model with ADAPTER, right after FROM', () => {
    const m = modelfile({
      ggufName: 'tiny-base.gguf',
      stopTokens: ['<|im_end|>'],
      adapter: 'tiny-lora.gguf'
    })
    expect(m.text.split('\n').slice(0, 3)).toEqual([
      'FROM ./tiny-base.gguf',
      'ADAPTER ./tiny-lora.gguf',
      'PARAMETER stop "<|im_end|>"'
    ])
    expect(modelfile({ ggufName: 'tiny-base.gguf', stopTokens: [] }).text).not.toContain('ADAPTER')
  })

  it('leaves TEMPLATE out when the template differs by one byte, and says Ollama reads the GGUF', () => {
    const m = modelfile({
      ggufName: 'a.gguf',
      stopTokens: ['<|im_end|>'],
      chatTemplate: chatml.jinja + ' '
    })
    expect(m.text).not.toMatch(/^TEMPLATE /m)
    expect(m.template).toBeUndefined()
    expect(m.text).toContain('# No TEMPLATE: Ollama reads the chat template the GGUF carries')
  })

  it('says chat may misbehave when the model has no template', () => {
    const m = modelfile({ ggufName: 'a.gguf', stopTokens: ['</s>'] })
    expect(m.text).toContain('has no chat template')
  })

  it('quotes a stop holding a double quote with """ and reports the ones it cannot spell', () => {
    const m = modelfile({ ggufName: 'a.gguf', stopTokens: ['<"q">', 'a\u0000b', '""""', '<e>'] })
    expect(m.text).toContain('PARAMETER stop """<"q">"""\n')
    expect(m.stops).toEqual(['<"q">', '<e>'])
    expect(m.unwritable).toEqual(['a\u0000b', '""""'])
  })

  it('every known template is unique and has a Go template without """', () => {
    expect(new Set(KNOWN_TEMPLATES.map(t => t.jinja)).size).toBe(KNOWN_TEMPLATES.length)
    for (const t of KNOWN_TEMPLATES) expect(t.ollama.includes('"""')).toBe(false)
  })
})
