/**
 * The GGUF path for real: the convert_hf_to_gguf.py stand-in (the only stand-in) turns the tiny
 * model into a BF16 GGUF with the checkout's own gguf-py, then the real llama-quantize,
 * @huggingface/gguf and llama-completion take it from there.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import {
  appendFile,
  copyFile,
  mkdtemp,
  readFile,
  rm,
  stat,
  truncate,
  writeFile
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'

import { ActionError } from '../../src/core/types.js'
import { convertToGguf, intermediateOutType } from '../../src/gguf/convert.js'
import { parseDryRun, predictQuantizedSize } from '../../src/gguf/predict.js'
import { quantizeGguf } from '../../src/gguf/quantize.js'
import { smokeTest } from '../../src/gguf/smoke.js'
import { verifyGguf } from '../../src/gguf/verify.js'
import {
  MAKE_IMATRIX,
  captureStdout,
  readConvertLog,
  realLlamaCpp,
  standInPython,
  tinyModel
} from '../fixtures/llama-stand-in/helpers.js'
import { SYSTEM_PYTHON } from '../fixtures/tiny.js'

const llama = realLlamaCpp()
/** Parameters of the tiny model: 2 x 320 x 256 (embeddings, output) + 2 layers + final norm. */
const TINY_PARAMETERS = 2 * 320 * 256 + 2 * (4 * 256 * 256 + 3 * 256 * 512 + 2 * 256) + 256

let work: string
let model: string
let bf16: string
let logFile: string
let python: string
let out: ReturnType<typeof captureStdout>
/** What beforeAll's conversion printed (later tests clear `out`). */
let conversionOutput: string
const quantized: Record<string, string> = {}

/** A quantized file of `type`: the one a test made, or made now, so no test needs another first. */
async function quantizedFile(type: string): Promise<string> {
  if (!quantized[type]) {
    const file = join(work, 'gguf', `tiny-${type}.gguf`)
    await quantizeGguf({ bin: llama.quantize, input: bf16, output: file, type })
    quantized[type] = file
  }
  return quantized[type]
}

async function expectActionError(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ActionError)
    const e = err as ActionError
    expect(e.message).not.toContain('\n')
    return e
  }
  throw new Error('expected an ActionError')
}

beforeAll(async () => {
  out = captureStdout()
  work = await mkdtemp(join(tmpdir(), 'gguf-pipeline-'))
  logFile = join(work, 'convert.jsonl')
  python = await standInPython(work, logFile)
  model = await tinyModel(join(work, 'model'))
  bf16 = join(work, 'gguf', 'tiny-bf16.gguf')
  await convertToGguf({
    python,
    script: llama.convertScript,
    modelDir: model,
    outFile: bf16,
    outType: intermediateOutType('BF16')
  })
  conversionOutput = out.text()
})

afterAll(async () => {
  out.restore()
  await rm(work, { recursive: true, force: true })
})

describe('convert (stand-in) -> verify', () => {
  it('runs <convert-python> <checkout>/convert_hf_to_gguf.py MODEL --outfile F --outtype T in a group', async () => {
    const log = await readConvertLog(logFile)
    expect(log[0].argv).toEqual([
      llama.convertScript,
      model,
      '--outfile',
      bf16,
      '--outtype',
      'bf16'
    ])
    expect(conversionOutput).toContain('::group::Converting model to GGUF (bf16)')
    expect(conversionOutput).toContain('Model successfully exported')
  })

  it('reads the BF16 header: llama, 21 tensors, every parameter, file type 32', async () => {
    const facts = await verifyGguf(bf16, 'BF16')
    expect(facts).toEqual({
      bytes: (await stat(bf16)).size,
      parameters: TINY_PARAMETERS,
      tensorCount: 21,
      architecture: 'llama',
      fileType: 32,
      // The stand-in model has no chat template; llama.cpp's EOG set is its EOS, "</s>".
      chat: { template: null, eog: [2], eogTexts: ['</s>'] }
    })
  })

  it('writes Q8_0 directly and fills {ftype} like the real converter', async () => {
    const direct = join(work, 'direct', 'tiny-q8_0.gguf')
    await convertToGguf({
      python,
      script: llama.convertScript,
      modelDir: model,
      outFile: direct,
      outType: 'q8_0'
    })
    expect((await verifyGguf(direct, 'Q8_0')).fileType).toBe(7)

    execFileSync(
      python,
      [llama.convertScript, model, '--outfile', join(work, 'direct', 't-{ftype}.gguf')],
      {
        stdio: 'ignore'
      }
    )
    expect((await verifyGguf(join(work, 'direct', 't-bf16.gguf'), 'BF16')).fileType).toBe(32)
    const log = await readConvertLog(logFile)
    expect(log.at(-1)).toMatchObject({
      outfile: join(work, 'direct', 't-bf16.gguf'),
      outtype: 'bf16'
    })
    // anything else goes to the python3 with numpy unchanged
    expect(execFileSync(python, ['-c', 'import numpy; print("ok")'], { encoding: 'utf8' })).toBe(
      'ok\n'
    )
  })
})

describe('quantize -> verify -> smoke test, all real llama.cpp', () => {
  it.each([
    ['Q4_K_M', 15],
    ['Q8_0', 7]
  ])('makes %s (general.file_type %d), loads it and generates text', async (type, ftype) => {
    const file = join(work, 'gguf', `tiny-${type}.gguf`)
    out.clear()
    await quantizeGguf({ bin: llama.quantize, input: bf16, output: file, type })
    expect(out.text()).toContain(`::group::Quantizing tiny-bf16.gguf to ${type}`)
    expect(out.text()).toContain('quant size')
    quantized[type] = file

    const facts = await verifyGguf(file, type)
    expect(facts.fileType).toBe(ftype)
    expect(facts.architecture).toBe('llama')
    expect(facts.tensorCount).toBe(21)
    expect(facts.parameters).toBe(TINY_PARAMETERS)
    expect(facts.bytes).toBe((await stat(file)).size)
    expect(facts.bytes).toBeLessThan((await stat(bf16)).size)

    const smoke = await smokeTest({
      bin: llama.completion,
      model: file,
      prompt: 'hello world',
      tokens: 32
    })
    // What the smoke test promises: llama.cpp loaded the file and generated, exit code 0.
    expect(smoke.exitCode).toBe(0)
    expect(smoke.ms).toBeGreaterThan(0)
    // The rest is evidence only when llama.cpp's logger thread flushed it before exit (smoke.ts):
    // the token count from the "eval time = ... / 31 runs" line (the tiny model never stops
    // early), and the generated text without the echoed prompt, shown as one printable line
    // (bytes that are not UTF-8 are \xNN, never U+FFFD).
    if (smoke.tokens !== null) expect(smoke.tokens).toBe(32)
    expect(smoke.text.startsWith('hello world')).toBe(false)
    expect(smoke.excerpt === '').toBe(smoke.text === '')
    expect([...smoke.excerpt].every(c => c !== '\uFFFD' && c.charCodeAt(0) >= 0x20)).toBe(true)
    expect(out.text()).toContain(`::group::Smoke test: tiny-${type}.gguf generates 32 tokens`)
  })

  it('accepts the alias Q4_K for a Q4_K_M file', async () => {
    expect((await verifyGguf(await quantizedFile('Q4_K_M'), 'Q4_K')).fileType).toBe(15)
  })
})

describe('verifyGguf catches damaged files', () => {
  it('catches a file cut in the tensor data', async () => {
    const cut = join(work, 'cut-data.gguf')
    await copyFile(quantized.Q4_K_M, cut)
    const size = (await stat(cut)).size
    await truncate(cut, size - 1000)
    const err = await expectActionError(verifyGguf(cut, 'Q4_K_M'))
    expect(err.message).toContain('cut-data.gguf is cut short')
    expect(err.message).toContain(`describes ${size} bytes but the file has ${size - 1000}`)
    // one byte is enough
    await copyFile(quantized.Q4_K_M, cut)
    await truncate(cut, size - 1)
    await expectActionError(verifyGguf(cut, 'Q4_K_M'))
  })

  it('catches a file cut in the header, at several points', async () => {
    const cut = join(work, 'cut-header.gguf')
    for (const at of [3, 6, 20, 200, 2000, 6000]) {
      await copyFile(quantized.Q4_K_M, cut)
      await truncate(cut, at)
      const err = await expectActionError(verifyGguf(cut, 'Q4_K_M'))
      expect(err.message).toContain('cut-header.gguf')
    }
  })

  it('catches trailing bytes, a wrong type and a file that is not GGUF', async () => {
    const extra = join(work, 'extra.gguf')
    await copyFile(quantized.Q8_0, extra)
    await appendFile(extra, Buffer.alloc(64))
    expect((await expectActionError(verifyGguf(extra, 'Q8_0'))).message).toContain(
      'has trailing bytes'
    )

    const wrong = await expectActionError(verifyGguf(quantized.Q8_0, 'Q4_K_M'))
    expect(wrong.message).toContain('tiny-Q8_0.gguf has general.file_type 7, not 15 (Q4_K_M)')

    const text = join(work, 'not.gguf')
    await writeFile(text, 'this is not a model')
    expect((await expectActionError(verifyGguf(text, 'Q8_0'))).message).toContain(
      'not.gguf is not a GGUF file'
    )
    expect(
      (await expectActionError(verifyGguf(join(work, 'missing.gguf'), 'Q8_0'))).message
    ).toContain('Cannot open')
  })
})

describe('predictQuantizedSize', () => {
  const figures: string[] = []
  afterAll(() => {
    console.log(`predicted vs actual (tiny model, from BF16):\n${figures.join('\n')}`)
  })

  it.each(['Q4_K_M', 'Q8_0', 'Q5_K_M', 'Q2_K'])(
    'predicts the exact %s file size with --dry-run',
    async type => {
      const predicted = await predictQuantizedSize({ bin: llama.quantize, input: bf16, type })
      expect(predicted.method).toBe('dry-run')
      const file = await quantizedFile(type)
      const actual = (await stat(file)).size
      const estimate = await predictQuantizedSize({
        bin: llama.quantize,
        input: bf16,
        type,
        supportsDryRun: false
      })
      expect(estimate.method).toBe('estimate')
      figures.push(
        `${type}: actual ${actual}, dry-run ${predicted.bytes} (${predicted.bytes - actual}), ` +
          `estimate ${estimate.bytes} (${(((estimate.bytes - actual) / actual) * 100).toFixed(1)}%)`
      )
      expect(predicted.bytes).toBe(actual)
      // the bits-per-weight estimate is for old checkouts only; on this tiny model (a third of
      // it embeddings and output) it is within 20%
      expect(Math.abs(estimate.bytes - actual) / actual).toBeLessThan(0.2)
    }
  )

  it.each(['IQ2_XS', 'Q4_K_M'])(
    'predicts the exact %s file size with an importance matrix, and the file works',
    async type => {
      const imatrix = join(work, 'tiny.imatrix')
      if (!existsSync(imatrix)) {
        execFileSync(SYSTEM_PYTHON, [MAKE_IMATRIX, llama.dir, bf16, imatrix], {
          stdio: 'ignore'
        })
      }
      const file = join(work, 'gguf', `tiny-${type}-imatrix.gguf`)
      const predicted = await predictQuantizedSize({
        bin: llama.quantize,
        input: bf16,
        type,
        imatrix
      })
      await quantizeGguf({ bin: llama.quantize, input: bf16, output: file, type, imatrix })
      const actual = (await stat(file)).size
      figures.push(
        `${type} with imatrix: actual ${actual}, dry-run ${predicted.bytes} (${predicted.bytes - actual})`
      )
      expect(predicted).toEqual({ bytes: actual, method: 'dry-run' })
      const facts = await verifyGguf(file, type)
      expect(facts.fileType).toBe(type === 'IQ2_XS' ? 20 : 15)
      if (type === 'IQ2_XS') {
        // llama.cpp loads the 2-bit file and generates from it (exit code 0).
        expect((await smokeTest({ bin: llama.completion, model: file })).exitCode).toBe(0)
      }
    }
  )

  it('parses the planned type of every tensor from --dry-run', () => {
    const planned = parseDryRun(
      [
        '[   1/  21] output.weight                        - [   256,    320,      1,      1], type =   bf16, size =     0.16 MiB ->     0.06 MiB (q6_K)',
        '[   2/  21] output_norm.weight                   - [   256,      1,      1,      1], type =    f32, size =    0.001 MiB',
        'llama_model_quantize_impl: quant size  =     0.86 MiB (4.91 BPW)'
      ].join('\n')
    )
    expect([...planned]).toEqual([
      ['output.weight', 'q6_K'],
      ['output_norm.weight', 'f32']
    ])
  })
})

describe('failures are one ActionError and leave no partial file', () => {
  it('llama-quantize failing after it opened the output (requantizing Q8_0)', async () => {
    const output = join(work, 'requant.gguf')
    const err = await expectActionError(
      quantizeGguf({ bin: llama.quantize, input: quantized.Q8_0, output, type: 'Q4_K_M' })
    )
    expect(err.message).toMatch(
      /^llama-quantize failed with exit code 1 making Q4_K_M from tiny-Q8_0\.gguf/
    )
    expect(err.message).toContain('requantizing from type q8_0 is disabled')
    expect(err.message).toContain('convert to F16/BF16 first')
    expect(existsSync(output)).toBe(false)
  })

  it('llama-quantize on a corrupt input', async () => {
    const corrupt = join(work, 'corrupt.gguf')
    await copyFile(bf16, corrupt)
    await truncate(corrupt, (await stat(bf16)).size - 4096)
    const output = join(work, 'from-corrupt.gguf')
    await writeFile(output, 'stale')
    const err = await expectActionError(
      quantizeGguf({ bin: llama.quantize, input: corrupt, output, type: 'Q4_K_M' })
    )
    expect(err.message).toContain('exit code 1')
    expect(err.message).toContain('not within the file bounds')
    expect(existsSync(output)).toBe(false)
  })

  it('an imatrix type without --imatrix and a missing imatrix file', async () => {
    const output = join(work, 'iq.gguf')
    const err = await expectActionError(
      quantizeGguf({ bin: llama.quantize, input: bf16, output, type: 'IQ2_XS' })
    )
    expect(err.message).toContain('set the imatrix input')
    expect(existsSync(output)).toBe(false)
    const missing = await expectActionError(
      quantizeGguf({
        bin: llama.quantize,
        input: bf16,
        output,
        type: 'IQ2_XS',
        imatrix: join(work, 'no.imatrix')
      })
    )
    expect(missing.message).toContain('Input imatrix is "')
  })

  it('convert refusing MLX-quantized weights', async () => {
    const q4 = await tinyModel(join(work, 'model-q4'), { bits: 4 })
    const outFile = join(work, 'gguf', 'q4-model.gguf')
    const err = await expectActionError(
      convertToGguf({
        python,
        script: llama.convertScript,
        modelDir: q4,
        outFile,
        outType: 'f16'
      })
    )
    expect(err.message).toContain('convert_hf_to_gguf.py failed with exit code 1')
    expect(err.message).toContain("Can not map tensor 'model.embed_tokens.scales'")
    expect(err.message).toContain('de-quantizing')
    expect(existsSync(outFile)).toBe(false)
  })

  it('convert on an architecture it does not support', async () => {
    const other = await tinyModel(join(work, 'model-other'))
    const config = JSON.parse(await readFile(join(other, 'config.json'), 'utf8'))
    await writeFile(
      join(other, 'config.json'),
      JSON.stringify({
        ...config,
        architectures: ['GraniteMoeHybridForCausalLM'],
        model_type: 'granitemoehybrid'
      })
    )
    const outFile = join(work, 'gguf', 'other.gguf')
    const err = await expectActionError(
      convertToGguf({
        python,
        script: llama.convertScript,
        modelDir: other,
        outFile,
        outType: 'bf16'
      })
    )
    expect(err.message).toContain('Model GraniteMoeHybridForCausalLM is not supported')
    expect(err.message).toContain('llama-cpp-ref')
    expect(existsSync(outFile)).toBe(false)
  })

  it('convert with a convert-python that does not exist, or a checkout without the script', async () => {
    const outFile = join(work, 'gguf', 'none.gguf')
    const err = await expectActionError(
      convertToGguf({
        python: join(work, 'no-python'),
        script: llama.convertScript,
        modelDir: model,
        outFile,
        outType: 'f16'
      })
    )
    expect(err.message).toContain('convert-python')
    const noScript = await expectActionError(
      convertToGguf({
        python,
        script: join(work, 'convert_hf_to_gguf.py'),
        modelDir: model,
        outFile,
        outType: 'f16'
      })
    )
    expect(noScript.message).toContain('llama-cpp-dir')
  })

  it('the smoke test on a file llama.cpp cannot load, and one that runs too long', async () => {
    const cut = join(work, 'smoke-cut.gguf')
    await copyFile(quantized.Q4_K_M, cut)
    await truncate(cut, 100_000)
    const err = await expectActionError(smokeTest({ bin: llama.completion, model: cut }))
    expect(err.message).toMatch(
      /^llama\.cpp could not load or run smoke-cut\.gguf: llama-completion exited with code 1/
    )

    const slow = await expectActionError(
      smokeTest({ bin: llama.completion, model: quantized.Q8_0, timeoutMs: 1 })
    )
    expect(slow.message).toContain('did not finish within')
  })
})
