import { afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import type { Config } from '../src/core/config.js'
import { readInputs } from '../src/inputs.js'

let root: string
let base: string
let adapters: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'inputs-')))
  base = path.join(root, 'base')
  adapters = path.join(root, 'adapters')
  await fs.mkdir(base)
  await fs.writeFile(path.join(base, 'config.json'), '{}')
  await fs.mkdir(adapters)
})

const set = (inputs: Record<string, string>): void => {
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
}
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) delete process.env[k]
})

describe('readInputs', () => {
  it('applies the documented defaults', async () => {
    set({ 'base-model': base, 'adapter-path': adapters })
    const config = await readInputs(root)
    expect(config).toMatchObject({
      baseModel: base,
      baseModelDir: base,
      adapterPath: adapters,
      outputDir: path.join(root, 'fused-model'),
      manifestPath: path.join(root, 'fused-model.manifest.json'),
      dequantize: false,
      quantizeBits: null,
      quantizeGroupSize: 64,
      budgets: [],
      onOverBudget: 'fail',
      python: null,
      mlxLmVersion: '0.32.2',
      overwrite: false,
      hfToken: null,
      gguf: null
    })
  })

  it('reads eval-data and eval-tokens: none by default, the path resolved, the count checked', async () => {
    set({ 'base-model': base, 'adapter-path': adapters, 'eval-tokens': '4096' })
    expect((await readInputs(root)).quality).toBeNull()
    set({ 'eval-data': 'data/valid.jsonl', 'eval-tokens': '' })
    expect((await readInputs(root)).quality).toEqual({
      evalData: path.join(root, 'data', 'valid.jsonl'),
      evalTokens: 4096
    })
    set({ 'eval-tokens': '1024' })
    expect((await readInputs(root)).quality?.evalTokens).toBe(1024)
    for (const bad of ['1e4', '-5', '2']) {
      set({ 'eval-tokens': bad })
      await expect(readInputs(root)).rejects.toThrow(`Input eval-tokens is "${bad}"`)
    }
  })

  it('reads quality-budget only with eval-data, whose figures it judges', async () => {
    set({ 'base-model': base, 'adapter-path': adapters, 'quality-budget': 'Q4_K=kld:0.05' })
    await expect(readInputs(root)).rejects.toThrow(
      'Input quality-budget is set but eval-data is empty, so there are no figures to judge'
    )
    set({ 'eval-data': 'valid.jsonl' })
    expect((await readInputs(root)).qualityBudgets).toEqual([
      { target: 'Q4_K_M', metric: 'kld', limit: 0.05, text: 'Q4_K=kld:0.05' }
    ])
  })

  it('treats owner/name that is not a folder as a Hugging Face repo id', async () => {
    set({ 'base-model': 'mlx-community/Llama-3.2-3B-Instruct-4bit', 'adapter-path': adapters })
    const config = await readInputs(root)
    expect(config.baseModelDir).toBeNull()
    expect(config.baseModel).toBe('mlx-community/Llama-3.2-3B-Instruct-4bit')
    expect(config.revision).toBeNull()
  })

  it('takes revision for a repo id and refuses it for a local base', async () => {
    set({ 'base-model': 'org/model', 'adapter-path': adapters, revision: ' v1.0 ' })
    expect((await readInputs(root)).revision).toBe('v1.0')
    set({ 'base-model': base })
    await expect(readInputs(root)).rejects.toThrow(
      `Input revision "v1.0" pins a Hugging Face repo id, but base-model "${base}" is a local directory; remove revision or set base-model to a repo id.`
    )
  })

  it('parses GGUF inputs and names the files after output-dir', async () => {
    set({
      'base-model': base,
      'adapter-path': adapters,
      'output-dir': 'out/my-model',
      gguf: 'q4_k_m, Q8_0\nf16',
      'size-budget': 'gguf=2GB'
    })
    const config = await readInputs(root)
    expect(config.gguf).toMatchObject({
      types: ['Q4_K_M', 'Q8_0', 'F16'],
      auto: false,
      dir: path.join(root, 'out/my-model-gguf'),
      stem: 'my-model',
      smokeTest: true,
      keepIntermediates: false,
      cacheToolchain: false,
      llamaCppRef: 'v0.4.0'
    })
  })

  it.each([
    [{ 'base-model': '' }, /Input base-model is required/],
    [
      { 'base-model': './nope', 'adapter-path': 'a' },
      /neither an existing directory nor a Hugging Face repo id/
    ],
    [{ dequantize: 'yes' }, /Input dequantize is "yes"; use true or false/],
    [{ 'quantize-bits': '7' }, /Input quantize-bits is "7"; use one of 2, 3, 4, 5, 6, 8/],
    [{ 'quantize-group-size': '0' }, /Input quantize-group-size is "0"/],
    // Issue 6: 33 was accepted; MLX's affine quantization takes 32, 64 or 128 only.
    [
      { 'quantize-group-size': '33' },
      /"33"; MLX's affine quantization supports group sizes 32, 64, 128 only/
    ],
    [{ 'quantize-group-size': '16' }, /supports group sizes 32, 64, 128 only/],
    // Issue 6: control characters in path and name inputs are refused up front, named.
    [
      { 'output-dir': 'out\n::error::forged' },
      /^Input output-dir holds the control character U\+000A \(line feed\) at position 4;/
    ],
    [{ 'base-model': 'base\r##[error]forged' }, /Input base-model .* U\+000D \(carriage return\)/],
    [{ 'adapter-path': 'a\u001b[31mred' }, /Input adapter-path .* U\+001B \(escape\)/],
    [{ python: '/usr/bin/python3\u2028x' }, /Input python .* U\+2028 \(line separator\)/],
    [{ gguf: 'Q8_0\u0085::error::x' }, /Input gguf .* U\+0085 \(next line\)/],
    [{ 'size-budget': 'mlx=1GB\u0007' }, /Input size-budget .* U\+0007 \(bell\)/],
    [{ gguf: 'Q8_0', 'gguf-dir': 'g\t##[warning]x' }, /Input gguf-dir .* U\+0009 \(tab\)/],
    // Issue 6: Q4_K and Q4_K_M are the same type, so two budgets for it are one too many.
    [{ 'size-budget': 'Q4_K=1kB, q4_k_m=2kB' }, /gives a size for target "q4_k_m" more than once/],
    [{ 'on-over-budget': 'ignore' }, /Input on-over-budget is "ignore"; use fail or warn/],
    [{ 'mlx-lm-version': 'latest' }, /Input mlx-lm-version is "latest"/],
    [{ 'size-budget': '2G' }, /did you mean 2GB or 2GiB/],
    [{ gguf: 'auto' }, /"auto" but size-budget has no absolute budget for GGUF files/],
    [{ gguf: 'auto Q8_0', 'size-budget': '1GB' }, /"auto" stands alone/],
    [{ gguf: 'Q8_0 q8_0' }, /lists Q8_0 twice/],
    [{ 'output-dir': 'base/fused' }, /output-dir ".*" overlaps base-model/],
    [{ 'output-dir': '.' }, /output-dir ".*" is or contains the working directory/],
    [{ 'output-dir': 'adapters' }, /output-dir ".*" overlaps adapter-path/],
    [{ gguf: 'Q8_0', 'gguf-dir': 'adapters/gguf' }, /gguf-dir ".*" overlaps adapter-path/]
  ])('refuses %j', async (inputs, message) => {
    set({ 'base-model': base, 'adapter-path': adapters, ...inputs })
    await expect(readInputs(root)).rejects.toThrow(message)
  })

  it('sees through a symbolic link to the base model', async () => {
    const link = path.join(root, 'link-to-base')
    await fs.symlink(base, link).catch(() => undefined)
    set({ 'base-model': base, 'adapter-path': adapters, 'output-dir': 'link-to-base/fused' })
    await expect(readInputs(root)).rejects.toThrow(/overlaps base-model/)
  })

  it('refuses a base-model folder without config.json and a base-model file', async () => {
    const empty = path.join(root, 'empty-base')
    await fs.mkdir(empty, { recursive: true })
    set({ 'base-model': empty, 'adapter-path': adapters })
    await expect(readInputs(root)).rejects.toThrow(/has no config\.json/)
    set({ 'base-model': path.join(base, 'config.json') })
    await expect(readInputs(root)).rejects.toThrow(/is a file/)
  })

  describe('true/false inputs', () => {
    /** Where each true/false input of action.yml lands in the config. */
    const FIELDS: Record<string, (c: Config) => boolean | undefined> = {
      dequantize: c => c.dequantize,
      overwrite: c => c.overwrite,
      'trust-remote-code': c => c.trustRemoteCode,
      'smoke-test': c => c.gguf?.smokeTest,
      'keep-intermediates': c => c.gguf?.keepIntermediates,
      'cache-toolchain': c => c.gguf?.cacheToolchain,
      'gguf-adapter': c => c.gguf?.adapter,
      upload: c => c.upload.upload,
      'upload-over-budget': c => c.upload.uploadOverBudget,
      'remove-after-upload': c => c.upload.removeAfterUpload,
      'hub-private': c => c.hub?.private
    }
    let defaults: [string, boolean][]
    beforeAll(async () => {
      const action = parse(
        await fs.readFile(path.join(import.meta.dirname, '..', 'action.yml'), 'utf8')
      ) as { inputs: Record<string, { default?: string }> }
      defaults = Object.entries(action.inputs)
        .filter(([, i]) => i.default === 'true' || i.default === 'false')
        .map(([name, i]) => [name, i.default === 'true'])
    })
    // gguf and hub-repo are set so that the GGUF-only and Hub-only inputs are read too
    const withGguf = { gguf: 'Q8_0', 'hub-repo': 'acme/x', 'hf-token': 'hf_x' }

    it('are exactly the inputs whose action.yml default is true or false', () => {
      expect(defaults.map(([name]) => name).sort()).toEqual(Object.keys(FIELDS).sort())
    })

    it('each take the default of action.yml when empty and read " TRUE " and "False" alike', async () => {
      for (const [name, fallback] of defaults) {
        set({ 'base-model': base, 'adapter-path': adapters, ...withGguf })
        expect([name, FIELDS[name](await readInputs(root))]).toEqual([name, fallback])
        set({ [name]: ' TRUE ' })
        expect([name, FIELDS[name](await readInputs(root))]).toEqual([name, true])
        set({ [name]: 'False' })
        expect([name, FIELDS[name](await readInputs(root))]).toEqual([name, false])
        delete process.env[`INPUT_${name.toUpperCase()}`]
      }
    })

    it('refuse gguf-adapter without gguf, naming both inputs', async () => {
      set({ 'base-model': base, 'adapter-path': adapters, 'gguf-adapter': 'true' })
      await expect(readInputs(root)).rejects.toThrow(
        /^Input gguf-adapter is true but gguf is empty; set gguf as well/
      )
    })

    it('each refuse anything else with the same sentence', async () => {
      for (const [name] of defaults) {
        set({ 'base-model': base, 'adapter-path': adapters, ...withGguf, [name]: ' yes' })
        await expect(readInputs(root)).rejects.toThrow(
          new Error(`Input ${name} is "yes"; use true or false.`)
        )
        delete process.env[`INPUT_${name.toUpperCase()}`]
      }
    })
  })
})
