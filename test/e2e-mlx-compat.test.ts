/**
 * End to end through the bundled action: what real mlx-lm releases do that a stand-in run must
 * reproduce (remote code in the base, 0.28.3's stale quantization_config, incomplete adapter
 * configs), each asserting whether fuse ran at all.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction } from './fixtures/action.js'
import {
  makeAdapters,
  makeStandInPython,
  makeTinyModel,
  readSafetensorsHeader,
  readStandInLog
} from './fixtures/tiny.js'

let root: string
let q4Base: string
let remoteCodeBase: string
let adapters: string
let python: string
let python0283: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-compat-')))
  const bf16Base = await makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' })
  q4Base = await makeTinyModel(path.join(root, 'base-q4'), { bits: 4, groupSize: 64 })
  adapters = await makeAdapters(path.join(root, 'adapters'), bf16Base, { rank: 8, scale: 20 })
  ;[python, python0283] = await Promise.all([
    makeStandInPython(path.join(root, 'py-0.32.2'), '0.32.2'),
    makeStandInPython(path.join(root, 'py-0.28.3'), '0.28.3')
  ])
  // The same model, whose config.json asks mlx_lm to build it from its own Python file.
  remoteCodeBase = path.join(root, 'base-remote-code')
  await fs.cp(q4Base, remoteCodeBase, { recursive: true })
  const configFile = path.join(remoteCodeBase, 'config.json')
  const config = JSON.parse(await fs.readFile(configFile, 'utf8')) as Record<string, unknown>
  await fs.writeFile(configFile, JSON.stringify({ ...config, model_file: 'custom_llama.py' }))
  await fs.writeFile(path.join(remoteCodeBase, 'custom_llama.py'), 'raise SystemExit(9)\n')
})

async function work(): Promise<{ dir: string; log: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'work-'))
  return { dir, log: path.join(dir, 'standin.log') }
}

const fuses = async (log: string): Promise<string[][]> =>
  (await readStandInLog(log)).filter(c => c.command === 'fuse').map(c => c.args)

describe('a base model that runs its own code (config.json model_file)', () => {
  it('is refused before fuse unless trusted', async () => {
    const { dir, log } = await work()
    const run = await runAction(
      { 'base-model': remoteCodeBase, 'adapter-path': adapters, python },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(
      /::error::Input base-model ".*base-remote-code" has a config.json that names model_file "custom_llama.py", Python code that mlx_lm runs to build the model; set trust-remote-code: true if you trust that code/
    )
    expect(await fuses(log)).toEqual([])
    expect(await fs.readdir(dir)).toEqual(['standin.log'])
  })

  it('passes --trust-remote-code to a fuse that has it when trust-remote-code is true', async () => {
    const { dir, log } = await work()
    const run = await runAction(
      {
        'base-model': remoteCodeBase,
        'adapter-path': adapters,
        python,
        'trust-remote-code': 'true',
        'quantize-bits': '4',
        dequantize: 'true'
      },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(0)
    const [fuse] = await fuses(log)
    expect(fuse.slice(-2)).toEqual(['--dequantize', '--trust-remote-code'])
    const convert = (await readStandInLog(log)).find(c => c.command === 'convert')!
    expect(convert.args[convert.args.length - 1]).toBe('--trust-remote-code')
  })

  it("lets mlx_lm's own MLX_LM_TRUST_REMOTE_CODE=1 decide, without the flag", async () => {
    const { dir, log } = await work()
    const run = await runAction(
      { 'base-model': remoteCodeBase, 'adapter-path': adapters, python },
      { cwd: dir, env: { MLX_STANDIN_LOG: log, MLX_LM_TRUST_REMOTE_CODE: '1' } }
    )
    expect(run.code).toBe(0)
    const [fuse] = await fuses(log)
    expect(fuse).not.toContain('--trust-remote-code')
  })
})

describe('mlx-lm 0.28.3, which leaves a stale quantization_config when de-quantizing', () => {
  it('removes it, so quantize-bits can load the fuse again, and says so', async () => {
    const { dir, log } = await work()
    const run = await runAction(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python: python0283,
        dequantize: 'true',
        'quantize-bits': '8'
      },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    // Without the removal, the stand-in's convert fails as the real one does: KeyError 'quant_method'.
    expect(run.stdout).not.toContain('Traceback')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(
      'mlx-lm 0.28.3 left a stale quantization_config in the de-quantized model'
    )
    const calls = await readStandInLog(log)
    expect(calls.map(c => c.command).filter(c => c !== 'help')).toEqual(['fuse', 'convert'])
    const fused = path.join(dir, 'fused-model')
    const config = JSON.parse(await fs.readFile(path.join(fused, 'config.json'), 'utf8'))
    expect(config.quantization).toMatchObject({ bits: 8, group_size: 64 })
    const header = await readSafetensorsHeader(path.join(fused, 'model.safetensors'))
    expect(header.tensors['model.layers.0.self_attn.q_proj.weight'].dtype).toBe('U32')
  })

  it('leaves a de-quantized 0.28.3 fuse that mlx_lm can load again', async () => {
    const { dir } = await work()
    const run = await runAction(
      { 'base-model': q4Base, 'adapter-path': adapters, python: python0283, dequantize: 'true' },
      { cwd: dir }
    )
    expect(run.code).toBe(0)
    const config = JSON.parse(
      await fs.readFile(path.join(dir, 'fused-model', 'config.json'), 'utf8')
    )
    expect(config).not.toHaveProperty('quantization')
    expect(config).not.toHaveProperty('quantization_config')
    // The summary reads the weights, not the stale key: full precision.
    expect(run.summary).toContain('De-quantized as asked')
  })
})

describe('an adapter config without the keys fuse reads', () => {
  it.each([
    ['num_layers', /has no numeric "num_layers"/],
    ['lora_parameters', /has no "lora_parameters" object/]
  ])('without %s is refused before fuse', async (key, message) => {
    const { dir, log } = await work()
    const partial = path.join(dir, `adapters-no-${key}`)
    await fs.cp(adapters, partial, { recursive: true })
    const configFile = path.join(partial, 'adapter_config.json')
    const config = JSON.parse(await fs.readFile(configFile, 'utf8')) as Record<string, unknown>
    delete config[key]
    await fs.writeFile(configFile, JSON.stringify(config))
    const run = await runAction(
      { 'base-model': q4Base, 'adapter-path': partial, python },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(message)
    expect(await fuses(log)).toEqual([])
  })
})
