/** The one redaction every sentence passes where it leaves the action (src/core/redact.ts). */
import { describe, expect, it } from '@jest/globals'
import { addSecret, redact } from '../../src/core/redact.js'

describe('redact', () => {
  it('replaces a registered secret of any form wherever it appears', () => {
    addSecret('corp-token-without-prefix-91')
    expect(
      redact(
        'HTTP 500 (bad token corp-token-without-prefix-91, again corp-token-without-prefix-91)'
      )
    ).toBe('HTTP 500 (bad token ***, again ***)')
  })

  it('replaces credentials in URLs, Hugging Face tokens and Bearer values it was never told about', () => {
    expect(redact('Could not reach https://me:pa55@hub.example.com/x (ECONNREFUSED)')).toBe(
      'Could not reach https://***@hub.example.com/x (ECONNREFUSED)'
    )
    expect(redact('"endpoint": "http://tok@127.0.0.1:9/"')).toBe(
      '"endpoint": "http://***@127.0.0.1:9/"'
    )
    expect(redact(`echo hf_${'a1B2'.repeat(9)} back`)).toBe('echo hf_*** back')
    expect(redact('Authorization: Bearer abc.def-ghi, next')).toBe(
      'Authorization: Bearer ***, next'
    )
    expect(
      redact('PUT https://x.blob.core.windows.net/c/a.zip?sv=2024&sig=AbC%2Bd&se=1 failed (403)')
    ).toBe('PUT https://x.blob.core.windows.net/c/a.zip?sv=2024&sig=***&se=1 failed (403)')
  })

  it('leaves ordinary text alone', () => {
    const text =
      'convert_hf_to_gguf.py wrote /out/model-hf_tiny.gguf; see https://huggingface.co/org/m and user@example.com'
    expect(redact(text)).toBe(text)
  })
})
