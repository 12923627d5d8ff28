/**
 * The fusion-fidelity advice (src/quality/stage.ts fusionAdvice) decided from the measured figures
 * only: the base without adapters sets how far "lost" is, the MLX output and a de-quantized fuse
 * (the MLX output itself when full precision, else a 16-bit GGUF) are judged against it.
 */
import { describe, expect, it } from '@jest/globals'
import type { MeasuredOutput } from '../../src/core/types.js'
import { fusionAdvice } from '../../src/quality/stage.js'
import type { QualityFigures } from '../../src/quality/types.js'

const out = (name: string, meanKld: number): MeasuredOutput => ({
  name,
  kind: name === 'mlx' ? 'mlx' : 'gguf',
  path: '/x',
  bytes: 1,
  files: 1,
  format: 'f',
  parameters: null,
  bitsPerWeight: null,
  quality: {
    ppl: 10,
    pplReference: 10,
    pplChange: 0,
    meanKld,
    agreement: 0.9,
    tokens: 255,
    scoredBy: 'mlx'
  }
})

/** The base without adapters, 0.4 nats per token from base + adapters. */
const adapter: QualityFigures = { ppl: 12, pplBase: 10, meanKld: 0.4, sameTop: 0.6, count: 255 }

describe('fusion advice from the measurements', () => {
  it('says nothing when the fuse kept the adapters', () => {
    expect(fusionAdvice(true, [out('mlx', 0.05), out('F16', 0.0001)], adapter)).toEqual([])
  })

  it('a quantized fuse that lost them while the 16-bit one kept them: dequantize: true', () => {
    const [d] = fusionAdvice(true, [out('mlx', 0.35), out('F16', 0.0001)], adapter)
    expect(d.title).toBe('The quantized fuse lost the adapters; the de-quantized one kept them')
    expect(d.text).toContain("12.5 % of the adapters' effect kept")
    expect(d.text).toContain('set dequantize: true')
  })

  it('both lost them: the fuse itself lost the adapters', () => {
    const [d] = fusionAdvice(true, [out('mlx', 0.39), out('F16', 0.38)], adapter)
    expect(d.title).toBe('The fuse itself lost the adapters')
    // a full-precision MLX output is its own de-quantized evidence
    expect(fusionAdvice(false, [out('mlx', 0.39)], adapter)[0].title).toBe(
      'The fuse itself lost the adapters'
    )
  })

  it('a quantized fuse that lost them, nothing de-quantized measured: how to tell the cause', () => {
    const [d] = fusionAdvice(true, [out('mlx', 0.3), out('Q4_K_M', 0.31)], adapter)
    expect(d.title).toBe('The quantized fuse lost the adapters')
    expect(d.text).toContain('dequantize: true, or with F16 among the gguf types')
  })

  it('adapters that barely change the base on the data: no verdict on the fuse, a notice', () => {
    const weak = { ...adapter, meanKld: 1e-4 }
    const advice = fusionAdvice(true, [out('mlx', 1e-4)], weak)
    expect(advice.map(d => [d.level, d.title])).toEqual([
      ['notice', 'The adapters barely change the base on this eval data']
    ])
  })
})
