/**
 * The fixtures are right: the tiny model and adapters load with the right names, shapes and
 * dtypes; MLX affine quantization round-trips; the mlx_lm stand-in fuses with the real LoRA
 * math (checked against numpy), honours each version's command line, fails on request, and
 * installs from a local package index as a wheel.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPackageIndex } from './fixtures/pypi-index.js'
import {
  buildStandInWheel,
  FIXTURES_DIR,
  makeAdapters,
  makeStandInPython,
  makeTinyModel,
  readSafetensorsHeader,
  readStandInLog,
  run,
  SYSTEM_PYTHON
} from './fixtures/tiny.js'

const VERIFY = join(FIXTURES_DIR, 'verify_fixtures.py')

interface Exit {
  code: number
  stdout: string
  stderr: string
}

/** Run without rejecting on a non-zero exit; `env` adds to a clean copy of process.env. */
function runExit(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return runExitWithEnv(file, args, { ...baseEnv(), ...env })
}

function runExitWithEnv(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise(resolve => {
    execFile(file, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.MLX_STANDIN_FAIL
  delete env.MLX_STANDIN_LOG
  delete env.MLX_STANDIN_MAX_SHARD_BYTES
  delete env.HF_TOKEN
  return env
}

async function verify<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(SYSTEM_PYTHON, [VERIFY, ...args])
  return JSON.parse(stdout) as T
}

async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T
}

interface FuseEntry {
  dtype: string
  shape: number[]
  floatDtype: string
  hasScales: boolean
  configAgrees: boolean | null
  kind: 'adapted' | 'untouched'
  deltaMaxAbs?: number
  maxChange?: number
  maxErr?: number
  bits?: number
  codeMismatches?: number
  codeCount?: number
  maxScale?: number
  scalesEqual?: boolean
  bytesIdentical?: boolean
  valuesEqual?: boolean
}

const ADAPTED = [
  'model.layers.0.self_attn.q_proj',
  'model.layers.0.self_attn.v_proj',
  'model.layers.1.self_attn.q_proj',
  'model.layers.1.self_attn.v_proj'
]

let root: string
let bf16: string
let f32: string
let q4: string
let q3: string
let q6: string
let adapters: string
let py: string
let py2834: string
let py2833: string
let log: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fixtures-test-'))
  bf16 = join(root, 'bf16')
  f32 = join(root, 'f32')
  q4 = join(root, 'q4')
  q3 = join(root, 'q3')
  q6 = join(root, 'q6')
  log = join(root, 'standin.jsonl')
  await makeTinyModel(bf16, { seed: 1 })
  await Promise.all([
    makeTinyModel(f32, { dtype: 'f32', seed: 1 }),
    makeTinyModel(q4, { bits: 4, lmHeadBits: 8, seed: 1 }),
    makeTinyModel(q3, { bits: 3, seed: 1 }),
    makeTinyModel(q6, { bits: 6, groupSize: 32, seed: 1 })
  ])
  ;[adapters, py, py2834, py2833] = await Promise.all([
    makeAdapters(join(root, 'adapters'), bf16),
    makeStandInPython(join(root, 'env-0.32.2')),
    makeStandInPython(join(root, 'env-0.28.4'), '0.28.4'),
    makeStandInPython(join(root, 'env-0.28.3'), '0.28.3')
  ])
})

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe('make_tiny_model.py model', () => {
  test('writes a bf16 llama model with MLX tensor names, shapes, config and tokenizer', async () => {
    const files = (await readdir(bf16)).sort()
    expect(files).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer.model',
      'tokenizer_config.json'
    ])
    const config = await readJson(join(bf16, 'config.json'))
    expect(config).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: 256,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      intermediate_size: 512,
      vocab_size: 320,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
      torch_dtype: 'bfloat16',
      bos_token_id: 1,
      eos_token_id: 2
    })
    expect(config.quantization).toBeUndefined()

    const { tensors, metadata } = await readSafetensorsHeader(join(bf16, 'model.safetensors'))
    expect(metadata).toEqual({ format: 'mlx' })
    const expected: Record<string, number[]> = {
      'model.embed_tokens.weight': [320, 256],
      'model.norm.weight': [256],
      'lm_head.weight': [320, 256]
    }
    for (const i of [0, 1]) {
      const p = `model.layers.${i}`
      for (const k of ['q_proj', 'k_proj', 'v_proj', 'o_proj'])
        expected[`${p}.self_attn.${k}.weight`] = [256, 256]
      expected[`${p}.mlp.gate_proj.weight`] = [512, 256]
      expected[`${p}.mlp.up_proj.weight`] = [512, 256]
      expected[`${p}.mlp.down_proj.weight`] = [256, 512]
      expected[`${p}.input_layernorm.weight`] = [256]
      expected[`${p}.post_attention_layernorm.weight`] = [256]
    }
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected).sort())
    for (const [name, info] of Object.entries(tensors)) {
      expect([name, info.dtype, info.shape]).toEqual([name, 'BF16', expected[name]])
    }
    const size = (await stat(join(bf16, 'model.safetensors'))).size
    const last = Math.max(...Object.values(tensors).map(t => t.data_offsets[1]))
    const { dataStart } = await readSafetensorsHeader(join(bf16, 'model.safetensors'))
    expect(dataStart + last).toBe(size)

    const tokenizerConfig = await readJson(join(bf16, 'tokenizer_config.json'))
    expect(tokenizerConfig).toMatchObject({
      tokenizer_class: 'LlamaTokenizer',
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>'
    })
    const tokenizer = await verify<Record<string, unknown>>('tokenizer', bf16)
    expect(tokenizer).toEqual({
      vocabSize: 320,
      first: ['<unk>', '<s>', '</s>'],
      byteTokens: 256,
      newline: expect.any(Number),
      roundTrip: 'Hello world!\nThe fox.'
    })
  })

  test('--dtype f16 and f32 store F16 and F32 tensors', async () => {
    const f16 = await makeTinyModel(join(root, 'f16'), { dtype: 'f16', seed: 1 })
    const header = await readSafetensorsHeader(join(f16, 'model.safetensors'))
    expect(new Set(Object.values(header.tensors).map(t => t.dtype))).toEqual(new Set(['F16']))
    expect((await readJson(join(f16, 'config.json'))).torch_dtype).toBe('float16')
    const f32Header = await readSafetensorsHeader(join(f32, 'model.safetensors'))
    expect(new Set(Object.values(f32Header.tensors).map(t => t.dtype))).toEqual(new Set(['F32']))
    expect((await readJson(join(f32, 'config.json'))).torch_dtype).toBe('float32')
  })

  test('quantized models: packed U32 weights, scales/biases in the model dtype, config quantization', async () => {
    const config = await readJson(join(q4, 'config.json'))
    const quantization = {
      group_size: 64,
      bits: 4,
      mode: 'affine',
      lm_head: { group_size: 64, bits: 8 }
    }
    expect(config.quantization).toEqual(quantization)
    expect(config.quantization_config).toEqual(quantization)
    const { tensors } = await readSafetensorsHeader(join(q4, 'model.safetensors'))
    const t = (name: string): [string, number[]] => [tensors[name].dtype, tensors[name].shape]
    expect(t('model.embed_tokens.weight')).toEqual(['U32', [320, 32]])
    expect(t('model.embed_tokens.scales')).toEqual(['BF16', [320, 4]])
    expect(t('model.embed_tokens.biases')).toEqual(['BF16', [320, 4]])
    expect(t('model.layers.0.self_attn.q_proj.weight')).toEqual(['U32', [256, 32]])
    expect(t('model.layers.0.mlp.down_proj.weight')).toEqual(['U32', [256, 64]])
    expect(t('model.layers.0.mlp.down_proj.scales')).toEqual(['BF16', [256, 8]])
    expect(t('lm_head.weight')).toEqual(['U32', [320, 64]])
    expect(t('lm_head.scales')).toEqual(['BF16', [320, 4]])
    expect(t('model.norm.weight')).toEqual(['BF16', [256]])
    expect(t('model.layers.1.input_layernorm.weight')).toEqual(['BF16', [256]])

    const q3Tensors = (await readSafetensorsHeader(join(q3, 'model.safetensors'))).tensors
    expect(q3Tensors['model.layers.0.self_attn.q_proj.weight'].shape).toEqual([256, 24])
    const q6Tensors = (await readSafetensorsHeader(join(q6, 'model.safetensors'))).tensors
    expect(q6Tensors['model.layers.0.self_attn.q_proj.weight'].shape).toEqual([256, 48])
    expect(q6Tensors['model.layers.0.self_attn.q_proj.scales'].shape).toEqual([256, 8])
    expect((await readJson(join(q6, 'config.json'))).quantization).toEqual({
      group_size: 32,
      bits: 6,
      mode: 'affine'
    })
  })

  test('packing matches MLX layouts for 2/3/4/5/6/8 bits (numpy and stand-in agree)', async () => {
    // MLX's affine widths (ml-explore/mlx mlx/backend/common/quantized.h, get_pack_factor),
    // named here, not taken from the stand-in's own list
    const widths = [2, 3, 4, 5, 6, 8]
    const packing = await verify<Record<string, Record<string, unknown>>>(
      'packing',
      ...widths.map(String)
    )
    expect(packing.refused).toEqual([1, 7])
    for (const bits of widths) {
      const r = packing[String(bits)]
      expect([bits, r.packedShape]).toEqual([bits, [8, (128 * bits) / 32]])
      expect([
        bits,
        r.packEqual,
        r.unpackEqual,
        r.codesEqual,
        r.scalesEqual,
        r.biasesEqual
      ]).toEqual([bits, true, true, true, true, true])
      expect(r.maxCode).toBe(2 ** bits - 1)
      expect(r.maxErrOverStep as number).toBeLessThanOrEqual(1.0001)
    }
    // 4 bits: codes 0..7 in one uint32, low nibble first; 6 bits: [1,2,3,4] in 3 bytes, LSB first
    expect(packing.layout).toEqual({
      fourBitWord: 0x76543210,
      sixBitFirstBytes: [0x81, 0x30, 0x10]
    })
  })

  test('quantize -> dequantize round trip is within one step at 4, 3 and 6 bits', async () => {
    type Trip = Record<
      string,
      { bits: number; maxErrOverTolerance: number; standInMaxDiff: number; configAgrees: boolean }
    >
    const trips = await Promise.all([q4, q3, q6].map(q => verify<Trip>('roundtrip', f32, q)))
    const seen = new Set<number>()
    for (const trip of trips) {
      expect(Object.keys(trip)).toHaveLength(16)
      for (const [path, r] of Object.entries(trip)) {
        seen.add(r.bits)
        expect([path, r.maxErrOverTolerance <= 1, r.configAgrees]).toEqual([path, true, true])
        expect([path, r.standInMaxDiff]).toEqual([path, 0])
      }
    }
    expect([...seen].sort()).toEqual([3, 4, 6, 8])
  })
})

describe('make_tiny_model.py adapters', () => {
  test('writes adapters.safetensors, numbered checkpoints and adapter_config.json', async () => {
    expect((await readdir(adapters)).sort()).toEqual([
      '0000100_adapters.safetensors',
      '0000200_adapters.safetensors',
      'adapter_config.json',
      'adapters.safetensors'
    ])
    const config = await readJson(join(adapters, 'adapter_config.json'))
    expect(config).toMatchObject({
      fine_tune_type: 'lora',
      num_layers: 2,
      lora_parameters: {
        rank: 8,
        scale: 20,
        dropout: 0,
        keys: ['self_attn.q_proj', 'self_attn.v_proj']
      },
      model: bf16,
      batch_size: expect.any(Number),
      iters: 200,
      learning_rate: expect.any(Number)
    })
    const { tensors } = await readSafetensorsHeader(join(adapters, 'adapters.safetensors'))
    const expected: Record<string, [string, number[]]> = {}
    for (const p of ADAPTED) {
      expected[`${p}.lora_a`] = ['F32', [256, 8]]
      expected[`${p}.lora_b`] = ['F32', [8, 256]]
    }
    expect(
      Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, [v.dtype, v.shape]]))
    ).toEqual(expected)
    const final = await readFile(join(adapters, 'adapters.safetensors'))
    expect(final.equals(await readFile(join(adapters, '0000200_adapters.safetensors')))).toBe(true)
    expect(final.equals(await readFile(join(adapters, '0000100_adapters.safetensors')))).toBe(false)
  })

  test('--checkpoints-only, --old-config, --num-layers and --keys', async () => {
    const [only, old, one] = await Promise.all([
      makeAdapters(join(root, 'ad-only'), bf16, { checkpointsOnly: true }),
      makeAdapters(join(root, 'ad-old'), bf16, { oldConfig: true }),
      makeAdapters(join(root, 'ad-one'), bf16, {
        numLayers: 1,
        rank: 4,
        keys: ['self_attn.k_proj', 'mlp.down_proj']
      })
    ])
    expect((await readdir(only)).sort()).toEqual([
      '0000100_adapters.safetensors',
      '0000200_adapters.safetensors',
      'adapter_config.json'
    ])
    const oldConfig = await readJson(join(old, 'adapter_config.json'))
    expect(oldConfig).toMatchObject({ lora_layers: 2, use_dora: false })
    expect(oldConfig.num_layers).toBeUndefined()
    expect(oldConfig.fine_tune_type).toBeUndefined()
    const { tensors } = await readSafetensorsHeader(join(one, 'adapters.safetensors'))
    expect(Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.shape]))).toEqual({
      'model.layers.1.self_attn.k_proj.lora_a': [256, 4],
      'model.layers.1.self_attn.k_proj.lora_b': [4, 256],
      'model.layers.1.mlp.down_proj.lora_a': [512, 4],
      'model.layers.1.mlp.down_proj.lora_b': [4, 256]
    })
  })
})

describe('mlx_lm stand-in', () => {
  const fuseArgs = (model: string, save: string, ...extra: string[]): string[] => [
    '-m',
    'mlx_lm',
    'fuse',
    '--model',
    model,
    '--adapter-path',
    adapters,
    '--save-path',
    save,
    ...extra
  ]

  test('fuse on a bf16 base changes exactly the adapted weights by scale * B^T A^T', async () => {
    const out = join(root, 'fused-bf16')
    const started = Date.now()
    const res = await runExit(py, fuseArgs(bf16, out), { MLX_STANDIN_LOG: log, HF_TOKEN: 'x' })
    const elapsed = Date.now() - started
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('Loading pretrained model')
    expect(elapsed).toBeLessThan(20000)
    expect((await readdir(out)).sort()).toEqual([
      'README.md',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'model.safetensors.index.json',
      'special_tokens_map.json',
      'tokenizer.model',
      'tokenizer_config.json'
    ])
    const fuse = await verify<Record<string, FuseEntry>>('fuse', bf16, adapters, out)
    expect(Object.keys(fuse)).toHaveLength(16)
    for (const [path, e] of Object.entries(fuse)) {
      expect([path, e.dtype, e.kind]).toEqual([
        path,
        'BF16',
        ADAPTED.includes(path) ? 'adapted' : 'untouched'
      ])
      if (e.kind === 'adapted') {
        expect(e.maxChange as number).toBeGreaterThan(0.01)
        expect(e.maxErr as number).toBeLessThan(1e-3)
      } else {
        expect([path, e.bytesIdentical]).toEqual([path, true])
      }
    }
    const base = await readJson(join(bf16, 'config.json'))
    const config = await readJson(join(out, 'config.json'))
    expect(config).toEqual(base)
    expect(Object.keys(config)).toEqual(Object.keys(config).sort())
    const index = await readJson<{
      metadata: { total_size: number; total_parameters: number }
      weight_map: Record<string, string>
    }>(join(out, 'model.safetensors.index.json'))
    const { tensors } = await readSafetensorsHeader(join(out, 'model.safetensors'))
    const total = Object.values(tensors).reduce(
      (s, t) => s + t.data_offsets[1] - t.data_offsets[0],
      0
    )
    expect(index.metadata.total_size).toBe(total)
    expect(index.metadata.total_parameters).toBe(total / 2)
    expect(Object.keys(index.weight_map).sort()).toEqual(Object.keys(tensors).sort())
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(['model.safetensors']))
    expect(await readFile(join(out, 'tokenizer.model'))).toEqual(
      await readFile(join(bf16, 'tokenizer.model'))
    )
    const entries = await readStandInLog(log)
    expect(entries.at(-1)).toMatchObject({
      module: 'mlx_lm',
      command: 'fuse',
      args: fuseArgs(bf16, out).slice(2),
      cwd: process.cwd(),
      hf_token: true,
      version: '0.32.2'
    })
  })

  test('fuse on a 4-bit base re-quantizes the adapted layers and stays quantized', async () => {
    const out = join(root, 'fused-q4')
    const res = await runExit(py, fuseArgs(q4, out))
    expect(res.code).toBe(0)
    const fuse = await verify<Record<string, FuseEntry>>('fuse', q4, adapters, out)
    for (const [path, e] of Object.entries(fuse)) {
      // bits and group size read off the shapes, and config.json declares the same
      expect([path, e.dtype, e.hasScales, e.configAgrees]).toEqual([path, 'U32', true, true])
      if (e.kind === 'adapted') {
        expect(e.bits).toBe(4)
        expect(e.scalesEqual).toBe(true)
        expect(e.codeMismatches as number).toBeLessThan((e.codeCount as number) / 200)
        expect(e.maxChange as number).toBeGreaterThan(0.01)
        expect(e.maxErr as number).toBeLessThanOrEqual((e.maxScale as number) * 1.05)
      } else {
        expect([path, e.bytesIdentical]).toEqual([path, true])
      }
    }
    expect(Object.values(fuse).filter(e => e.kind === 'adapted')).toHaveLength(4)
    expect(fuse['lm_head'].shape).toEqual([320, 64])
    const config = await readJson(join(out, 'config.json'))
    expect(config.quantization).toEqual((await readJson(join(q4, 'config.json'))).quantization)
    expect(config.quantization_config).toEqual(config.quantization)
  })

  test('fuse --dequantize gives float weights in the scales dtype and drops quantization', async () => {
    const out = join(root, 'fused-deq')
    const res = await runExit(py, fuseArgs(q4, out, '--dequantize'))
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('Dequantizing model')
    const fuse = await verify<Record<string, FuseEntry>>('fuse', q4, adapters, out)
    for (const [path, e] of Object.entries(fuse)) {
      expect([path, e.dtype, e.hasScales, e.configAgrees]).toEqual([path, 'BF16', false, null])
      if (e.kind === 'adapted') expect(e.maxErr as number).toBeLessThan(1e-3)
      else expect([path, e.valuesEqual]).toEqual([path, true])
    }
    expect(fuse['model.embed_tokens'].shape).toEqual([320, 256])
    const config = await readJson(join(out, 'config.json'))
    expect(config.quantization).toBeUndefined()
    expect(config.quantization_config).toBeUndefined()
  })

  test('the de-quantize flag is spelled by version: --de-quantize up to 0.28.3, --dequantize after', async () => {
    const [newHelp, oldHelp, legacyHelp] = await Promise.all([
      runExit(py, ['-m', 'mlx_lm', 'fuse', '--help'], { MLX_STANDIN_LOG: log }),
      runExit(py2833, ['-m', 'mlx_lm', 'fuse', '--help']),
      runExit(py2833, ['-m', 'mlx_lm.fuse', '--help'])
    ])
    for (const r of [newHelp, oldHelp, legacyHelp]) expect(r.code).toBe(0)
    expect(newHelp.stdout).toMatch(/--dequantize\b/)
    expect(newHelp.stdout).not.toContain('--de-quantize')
    expect(oldHelp.stdout).toContain('--de-quantize')
    expect(oldHelp.stdout).not.toMatch(/--dequantize\b/)
    expect(legacyHelp.stdout).toContain(
      'Calling `python -m mlx_lm.fuse...` directly is deprecated.'
    )
    expect((await readStandInLog(log)).at(-1)).toMatchObject({
      command: 'help',
      args: ['fuse', '--help']
    })
    const version = await runExit(py2833, ['-m', 'mlx_lm', '--version'])
    expect(version.stdout.trim()).toBe('0.28.3')

    // 0.28.3 really de-quantizes: every layer becomes bf16 (the scales' dtype, as the real
    // 0.28.3 does in e2e-real-conformance) and the stale quantization_config stays in config.json
    const out = join(root, 'fused-0.28.3')
    const wrong = await runExit(py2833, fuseArgs(q4, out, '--dequantize'))
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('unrecognized arguments: --dequantize')
    const res = await runExit(py2833, fuseArgs(q4, out, '--de-quantize'))
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('De-quantizing model')
    const fuse = await verify<Record<string, FuseEntry>>('fuse', q4, adapters, out)
    for (const [path, e] of Object.entries(fuse)) {
      expect([path, e.dtype]).toEqual([path, 'BF16'])
      if (e.kind === 'untouched') expect([path, e.valuesEqual]).toEqual([path, true])
    }
    const config = await readJson(join(out, 'config.json'))
    expect(config.quantization).toBeUndefined()
    expect(config.quantization_config).toMatchObject({ bits: 4, group_size: 64 })
  })

  test('0.28.4 --dequantize crashes with NameError like the real release', async () => {
    const out = join(root, 'fused-0.28.4')
    const res = await runExit(py2834, fuseArgs(q4, out, '--dequantize'))
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('Traceback (most recent call last)')
    expect(res.stderr.trim().split('\n').at(-1)).toBe("NameError: name 'dequantize' is not defined")
    expect(existsSync(out)).toBe(false)
    const ok = await runExit(py2834, fuseArgs(q4, out))
    expect(ok.code).toBe(0)
  })

  test('failures: injected (exit 3, partial file), old adapter config, missing model', async () => {
    const out = join(root, 'fused-fail')
    const [injected, oldConfig, missing] = await Promise.all([
      runExit(py, fuseArgs(bf16, out), { MLX_STANDIN_FAIL: 'fuse' }),
      makeAdapters(join(root, 'ad-old-fail'), bf16, { oldConfig: true }).then(dir =>
        runExit(py, [
          '-m',
          'mlx_lm.fuse',
          '--model',
          bf16,
          '--adapter-path',
          dir,
          '--save-path',
          join(root, 'fused-old')
        ])
      ),
      runExit(py, fuseArgs('org/not-a-local-model', join(root, 'fused-missing')))
    ])
    expect(injected.code).toBe(3)
    expect(injected.stderr).toContain('Traceback (most recent call last)')
    expect(injected.stderr.trim().split('\n').at(-1)).toBe(
      'RuntimeError: [stand-in] injected failure'
    )
    const partial = await stat(join(out, 'model.safetensors'))
    expect(partial.size).toBeGreaterThan(0)
    expect(partial.size).toBeLessThan(64)

    expect(oldConfig.code).toBe(1)
    expect(oldConfig.stdout).toContain('Calling `python -m mlx_lm.fuse...` directly is deprecated.')
    expect(oldConfig.stderr).toContain('Traceback (most recent call last)')
    expect(oldConfig.stderr).toContain("has no attribute 'num_layers'")
    expect(existsSync(join(root, 'fused-old'))).toBe(false)

    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot download')
  })

  test('convert -q --q-bits 4 quantizes every Linear and the embedding; OUT must not exist', async () => {
    const out = join(root, 'converted-q4')
    const args = ['-m', 'mlx_lm', 'convert', '--hf-path', f32, '--mlx-path', out, '-q']
    const res = await runExit(py, [
      ...args,
      '--q-bits',
      '4',
      '--q-group-size',
      '64',
      '--dtype',
      'bfloat16'
    ])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('[INFO] Quantized model with 4.5')
    const config = await readJson(join(out, 'config.json'))
    expect(config.quantization).toEqual({ group_size: 64, bits: 4, mode: 'affine' })
    expect(config.quantization_config).toEqual(config.quantization)
    const { tensors } = await readSafetensorsHeader(join(out, 'model.safetensors'))
    expect(tensors['model.embed_tokens.weight'].dtype).toBe('U32')
    expect(tensors['lm_head.scales']).toMatchObject({ dtype: 'BF16', shape: [320, 4] })
    expect(tensors['model.norm.weight'].dtype).toBe('BF16')
    const trip = await verify<Record<string, { maxErrOverTolerance: number }>>(
      'roundtrip',
      f32,
      out
    )
    expect(Object.keys(trip)).toHaveLength(16)
    for (const r of Object.values(trip)) expect(r.maxErrOverTolerance).toBeLessThanOrEqual(1)

    const again = await runExit(py, [...args])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already exists')

    const failed = await runExit(py, [...args.slice(0, 6), join(root, 'converted-fail'), '-q'], {
      MLX_STANDIN_FAIL: 'convert'
    })
    expect(failed.code).toBe(3)
    expect(failed.stderr).toContain('RuntimeError: [stand-in] injected failure')
  })

  test('shards the output when MLX_STANDIN_MAX_SHARD_BYTES is exceeded', async () => {
    const out = join(root, 'fused-sharded')
    const res = await runExit(py, fuseArgs(bf16, out), { MLX_STANDIN_MAX_SHARD_BYTES: '1000000' })
    expect(res.code).toBe(0)
    const shards = (await readdir(out)).filter(f => f.endsWith('.safetensors')).sort()
    expect(shards.length).toBeGreaterThan(1)
    expect(shards).toEqual(
      shards.map((_, i) => `model-0000${i + 1}-of-0000${shards.length}.safetensors`)
    )
    const index = await readJson<{ weight_map: Record<string, string> }>(
      join(out, 'model.safetensors.index.json')
    )
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(shards))
    expect(Object.keys(index.weight_map)).toHaveLength(21)
  })

  test('the wheel installs with pip from a local index into a fresh venv', async () => {
    const wheel = await buildStandInWheel(join(root, 'wheels'))
    expect(wheel).toBe(join(root, 'wheels', 'mlx_lm-0.32.2-py3-none-any.whl'))
    const index = await startPackageIndex([wheel])
    try {
      const venv = join(root, 'venv')
      await run('python3', ['-m', 'venv', venv])
      // only the local index: no pip.conf, no PIP_* settings from the machine
      const env = baseEnv()
      for (const key of Object.keys(env)) if (key.startsWith('PIP_')) delete env[key]
      env.PIP_CONFIG_FILE = '/dev/null'
      const install = await runExitWithEnv(
        join(venv, 'bin', 'python'),
        [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          '--no-input',
          '--index-url',
          `${index.url}/simple/`,
          'mlx-lm==0.32.2'
        ],
        env
      )
      expect([install.code, install.stderr]).toEqual([0, install.stderr])
      expect(index.requests).toContain('/simple/mlx-lm/')
      expect(index.requests).toContain('/files/mlx_lm-0.32.2-py3-none-any.whl')
      const version = await runExit(join(venv, 'bin', 'python'), ['-m', 'mlx_lm', '--version'])
      expect(version.stdout.trim()).toBe('0.32.2')
      const meta = await runExit(join(venv, 'bin', 'python'), [
        '-c',
        "import importlib.metadata as m; print(m.version('mlx-lm'))"
      ])
      expect(meta.stdout.trim()).toBe('0.32.2')
      expect(existsSync(join(venv, 'bin', 'mlx_lm'))).toBe(true)
      expect(existsSync(join(venv, 'bin', 'mlx_lm.fuse'))).toBe(true)
    } finally {
      await index.close()
    }
  })
})
