/**
 * The whole run, in-process (run() with the real @actions/core and the step's environment:
 * fixtures/in-process.ts), with `python` pointing at the mlx_lm stand-in (the only thing
 * replaced). Sizes, summary, outputs and manifest are real.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'
import { startPackageIndex } from './fixtures/pypi-index.js'
import {
  buildStandInWheel,
  makeAdapters,
  makeStandInPython,
  makeTinyModel,
  readSafetensorsHeader,
  readStandInLog
} from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

let root: string
let q4Base: string
let bf16Base: string
let adapters: string
let python: string
let python0283: string
let python0284: string

/** An independent exact measurement: lstat sizes of regular files, links not followed. */
async function treeBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.lstat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

async function work(): Promise<{ dir: string; log: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'work-'))
  return { dir, log: path.join(dir, 'standin.log') }
}

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-mlx-')))
  ;[q4Base, bf16Base] = await Promise.all([
    makeTinyModel(path.join(root, 'base-q4'), { bits: 4, groupSize: 64 }),
    makeTinyModel(path.join(root, 'base-bf16'), { dtype: 'bf16' })
  ])
  adapters = await makeAdapters(path.join(root, 'adapters'), bf16Base, { rank: 8, scale: 20 })
  ;[python, python0283, python0284] = await Promise.all([
    makeStandInPython(path.join(root, 'py-0.32.2'), '0.32.2'),
    makeStandInPython(path.join(root, 'py-0.28.3'), '0.28.3'),
    makeStandInPython(path.join(root, 'py-0.28.4'), '0.28.4')
  ])
})

function expectMeasured(run: ActionRun, bytes: number): void {
  expect(run.outputs['fused-bytes']).toBe(String(bytes))
  expect(JSON.parse(run.outputs.sizes)).toEqual({ mlx: bytes })
}

describe('the action, end to end (MLX output)', () => {
  it('keeps a quantized base quantized, measures it exactly and passes its budget', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
      {
        'base-model': q4Base,
        'adapter-path': adapters,
        python,
        'size-budget': 'mlx=5MB',
        'hf-token': 'hf_not_a_real_token'
      },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(0)
    // The token is masked in the log and reaches the fuse as HF_TOKEN.
    expect(run.stdout).toContain('::add-mask::hf_not_a_real_token')
    const fused = path.join(dir, 'fused-model')
    const bytes = await treeBytes(fused)
    expectMeasured(run, bytes)
    expect(run.outputs['fused-path']).toBe(fused)
    expect(run.outputs['within-budget']).toBe('true')
    // The stand-in was called once, with the real fuse command line, and no de-quantize flag.
    const calls = (await readStandInLog(log)).filter(c => c.command === 'fuse')
    expect(calls).toHaveLength(1)
    expect(calls[0].hf_token).toBe(true)
    const args = calls[0].args
    expect(args.slice(0, 5)).toEqual(['fuse', '--model', q4Base, '--adapter-path', adapters])
    expect(args[5]).toBe('--save-path')
    expect(path.dirname(args[6])).toBe(dir) // a staging folder beside output-dir, then renamed
    expect(args).toHaveLength(7)
    // The output really is 4-bit: packed U32 weights.
    const header = await readSafetensorsHeader(path.join(fused, 'model.safetensors'))
    expect(header.tensors['model.layers.0.self_attn.q_proj.weight'].dtype).toBe('U32')
    // The manifest sits beside the output and holds the same bytes.
    const manifest = await readValidManifest(run.outputs.manifest)
    expect(run.outputs.manifest).toBe(`${fused}.manifest.json`)
    expect(manifest.schemaVersion).toBe(1)
    expect(manifest.outputs[0]).toMatchObject({
      name: 'mlx',
      bytes,
      status: 'within',
      budgetBytes: 5_000_000
    })
    expect(manifest.outputs[0].bytesByDtype.U32).toBeGreaterThan(
      manifest.outputs[0].bytesByDtype.BF16
    )
    expect(run.summary).toMatch(/<sub>U32 \d+%, BF16 \d+%/)
    expect(manifest.outputs[0].bitsPerWeight).toBeGreaterThan(4)
    expect(manifest.outputs[0].bitsPerWeight).toBeLessThan(6)
    expect(run.summary).toContain('Every output is within its size budget')
    expect(run.summary).toContain("Kept the base model's quantization")
    expect(run.summary).toContain('4-bit affine, group 64')
    expect(run.summary).toContain(`${bytes.toLocaleString('en-US')} bytes`)
    // Nothing else was left beside the output: no staging folders.
    expect((await fs.readdir(dir)).sort()).toEqual([
      'fused-model',
      'fused-model.manifest.json',
      'standin.log'
    ])
  })

  it('diagnoses a never-quantized base and fails its budget with the figures', async () => {
    const { dir } = await work()
    const run = await runInProcess(
      { 'base-model': bf16Base, 'adapter-path': adapters, python, 'size-budget': 'mlx=1MB' },
      { cwd: dir }
    )
    expect(run.code).toBe(1)
    const bytes = await treeBytes(path.join(dir, 'fused-model'))
    expectMeasured(run, bytes)
    expect(run.outputs['within-budget']).toBe('false')
    const over = Math.round(((bytes - 1_000_000) / 1_000_000) * 100)
    const errors = run.annotations.filter(a => a.startsWith('::error'))
    expect(errors[0]).toContain(
      `is over its budget of 1.00 MB by ${over}% (size-budget entry "mlx=1MB")`
    )
    expect(
      run.annotations.some(a => a.startsWith('::warning') && a.includes('was never quantized'))
    ).toBe(true)
    expect(run.summary).toContain(`❌ over by ${over}%`)
    expect(run.summary).toContain(
      'The fused model is full precision because the base model was never quantized'
    )
    expect(run.summary).toContain('quantize-bits: 4')
    expect(run.summary).toContain('bfloat16 (not quantized)')
    // Against the bf16 base it was fused into, the size barely changes.
    const baseBytes = await treeBytes(bf16Base)
    const manifest = await readValidManifest(run.outputs.manifest)
    expect(manifest.baseModelBytes).toBe(baseBytes)
    expect(run.summary).toContain('<th>Change from base</th>')
    expect(run.summary).toMatch(
      /[+−][\d.]+ [kM]B \((?:[+−]\d+(?:\.\d)? %|<0\.1 %)\)<br><sub>base [\d.]+ [kM]B<\/sub>/
    )
  })

  it('only warns in warn mode', async () => {
    const { dir } = await work()
    const run = await runInProcess(
      {
        'base-model': bf16Base,
        'adapter-path': adapters,
        python,
        'size-budget': '1MB',
        'on-over-budget': 'warn'
      },
      { cwd: dir }
    )
    expect(run.code).toBe(0)
    expect(run.outputs['within-budget']).toBe('false')
    expect(run.annotations.filter(a => a.startsWith('::error'))).toEqual([])
    expect(
      run.annotations.some(a => a.startsWith('::warning') && a.includes('is over its budget'))
    ).toBe(true)
    expect(run.summary).toContain('(warn only)')
  })

  it.each([
    ['0.32.2', '--dequantize'],
    ['0.28.3', '--de-quantize']
  ])('de-quantizes with mlx-lm %s using %s', async (version, flag) => {
    const { dir, log } = await work()
    const py = version === '0.28.3' ? python0283 : python
    const run = await runInProcess(
      { 'base-model': q4Base, 'adapter-path': adapters, python: py, dequantize: 'true' },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(0)
    const fuse = (await readStandInLog(log)).find(c => c.command === 'fuse')!
    expect(fuse.args[fuse.args.length - 1]).toBe(flag)
    const header = await readSafetensorsHeader(path.join(dir, 'fused-model', 'model.safetensors'))
    expect(header.tensors['model.layers.0.self_attn.q_proj.weight'].dtype).not.toBe('U32')
    expect(run.summary).toContain('De-quantized as asked')
    expect(run.summary).toContain('The base was 4-bit')
    expectMeasured(run, await treeBytes(path.join(dir, 'fused-model')))
  })

  it('refuses mlx-lm 0.28.4 with de-quantize before running anything', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
      { 'base-model': q4Base, 'adapter-path': adapters, python: python0284, dequantize: 'true' },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('mlx-lm 0.28.4 crashes when de-quantizing')
    expect((await readStandInLog(log)).filter(c => c.command === 'fuse')).toEqual([])
    expect(await fs.readdir(dir)).not.toContain('fused-model')
  })

  it('re-quantizes a full-precision fuse with quantize-bits', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
      {
        'base-model': bf16Base,
        'adapter-path': adapters,
        python,
        'quantize-bits': '4',
        'size-budget': '5MB'
      },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(0)
    const convert = (await readStandInLog(log)).filter(c => c.command === 'convert')
    expect(convert).toHaveLength(1)
    const a = convert[0].args
    expect(a[0]).toBe('convert')
    expect(a.slice(3)).toEqual(['--mlx-path', a[4], '-q', '--q-bits', '4', '--q-group-size', '64'])
    const fused = path.join(dir, 'fused-model')
    const header = await readSafetensorsHeader(path.join(fused, 'model.safetensors'))
    expect(header.tensors['model.layers.0.self_attn.q_proj.weight'].dtype).toBe('U32')
    expect(run.summary).toContain('re-quantized to 4-bit as asked')
    expectMeasured(run, await treeBytes(fused))
    expect((await fs.readdir(dir)).sort()).toEqual([
      'fused-model',
      'fused-model.manifest.json',
      'standin.log'
    ])
  })

  it('fails with the tool exit code when the fuse fails, and leaves no output, only a failure manifest', async () => {
    const { dir } = await work()
    const run = await runInProcess(
      { 'base-model': q4Base, 'adapter-path': adapters, python, 'size-budget': '5MB' },
      { cwd: dir, env: { MLX_STANDIN_FAIL: 'fuse' } }
    )
    expect(run.code).toBe(3)
    expect(run.stdout).toMatch(/::error::mlx_lm fuse failed with exit code 3: .*injected failure/)
    // No model; the manifest says the run failed (no sizes), so no gate can read a pass from it.
    expect(await fs.readdir(dir)).toEqual(['fused-model.manifest.json'])
    const manifest = await readValidManifest(path.join(dir, 'fused-model.manifest.json'))
    expect(manifest).toMatchObject({ status: 'failed', withinBudget: false, outputs: [] })
    expect(run.outputs['within-budget']).toBeUndefined()
    expect(run.summary).toContain('❌ Failed:')
  })

  it('refuses the output-dir of an earlier run, and replaces it with overwrite: true', async () => {
    const { dir } = await work()
    const out = path.join(dir, 'fused-model')
    const inputs = { 'base-model': q4Base, 'adapter-path': adapters, python }
    expect((await runInProcess(inputs, { cwd: dir })).code).toBe(0)
    await fs.writeFile(path.join(out, 'stale.safetensors'), 'old model')
    const entries = (await fs.readdir(out)).length
    const refused = await runInProcess(inputs, { cwd: dir })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(
      new RegExp(
        `output-dir ".*fused-model" already holds ${entries} entries from an earlier run of this action; set overwrite: true`
      )
    )
    expect(await fs.readdir(out)).toContain('stale.safetensors')
    const replaced = await runInProcess({ ...inputs, overwrite: 'true' }, { cwd: dir })
    expect(replaced.code).toBe(0)
    expect(await fs.readdir(out)).not.toContain('stale.safetensors')
    expectMeasured(replaced, await treeBytes(out))
  })

  it('uses python3 from PATH when it imports mlx_lm, without creating an environment', async () => {
    const { dir, log } = await work()
    const bin = path.join(root, 'path-bin')
    await fs.mkdir(bin, { recursive: true })
    await fs.symlink(python, path.join(bin, 'python3')).catch(() => undefined)
    const run = await runInProcess(
      { 'base-model': q4Base, 'adapter-path': adapters },
      { cwd: dir, env: { MLX_STANDIN_LOG: log, PATH: `${bin}:${process.env.PATH}` } }
    )
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain('Creating a Python environment')
    expect(run.summary).toContain('mlx-lm 0.32.2 (<code>python3</code>, path)')
    expect((await readStandInLog(log)).filter(c => c.command === 'fuse')).toHaveLength(1)
  })

  it('creates a virtual environment with the pinned mlx-lm from a package index (runs pip)', async () => {
    const wheel = await buildStandInWheel(path.join(root, 'wheel'), '0.32.2')
    const index = await startPackageIndex([wheel])
    try {
      const { dir } = await work()
      const inputs = { 'base-model': q4Base, 'adapter-path': adapters, 'mlx-lm-version': '0.32.2' }
      const env = { PIP_INDEX_URL: `${index.url}/simple/`, PIP_CONFIG_FILE: '/dev/null' }
      const run = await runInProcess(inputs, { cwd: dir, env })
      expect(run.code).toBe(0)
      expect(index.requests.some(r => r.startsWith('/simple/mlx-lm'))).toBe(true)
      expect(index.requests.some(r => r.endsWith('.whl'))).toBe(true)
      // Linux installs MLX's CPU backend with it (the stand-in wheel has no such extra: pip warns)
      const pkg = process.platform === 'linux' ? 'mlx-lm[cpu]==0.32.2' : 'mlx-lm==0.32.2'
      expect(run.stdout).toContain(`Creating a Python environment with ${pkg}`)
      expect(run.summary).toMatch(
        /mlx-lm 0\.32\.2 \(<code>.*mlx-lm-0\.32\.2-py3[.\d]+-[0-9a-f]{12}\/bin\/python<\/code>, venv\)/
      )
      expectMeasured(run, await treeBytes(path.join(dir, 'fused-model')))
    } finally {
      await index.close()
    }
  })
})

// What real mlx-lm releases do that a stand-in run must reproduce (remote code in the base,
// 0.28.3's stale quantization_config, incomplete adapter configs), each asserting whether fuse ran.
const fuses = async (log: string): Promise<string[][]> =>
  (await readStandInLog(log)).filter(c => c.command === 'fuse').map(c => c.args)

describe('a base model that runs its own code (config.json model_file)', () => {
  let remoteCodeBase: string
  beforeAll(async () => {
    // The same model, whose config.json asks mlx_lm to build it from its own Python file.
    remoteCodeBase = path.join(root, 'base-remote-code')
    await fs.cp(q4Base, remoteCodeBase, { recursive: true })
    const configFile = path.join(remoteCodeBase, 'config.json')
    const config = JSON.parse(await fs.readFile(configFile, 'utf8')) as Record<string, unknown>
    await fs.writeFile(configFile, JSON.stringify({ ...config, model_file: 'custom_llama.py' }))
    await fs.writeFile(path.join(remoteCodeBase, 'custom_llama.py'), 'raise SystemExit(9)\n')
  })
  it('is refused before fuse unless trusted', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
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
    const run = await runInProcess(
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

  it('takes MLX_LM_TRUST_REMOTE_CODE=1, which no released mlx-lm reads, as no consent', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
      { 'base-model': remoteCodeBase, 'adapter-path': adapters, python },
      { cwd: dir, env: { MLX_STANDIN_LOG: log, MLX_LM_TRUST_REMOTE_CODE: '1' } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(
      'set trust-remote-code: true if you trust that code (MLX_LM_TRUST_REMOTE_CODE is read by no released mlx-lm and is not consent)'
    )
    expect(await fuses(log)).toEqual([])
  })
})

describe('mlx-lm 0.28.3, which leaves a stale quantization_config when de-quantizing', () => {
  it('removes it, so quantize-bits can load the fuse again, and says so', async () => {
    const { dir, log } = await work()
    const run = await runInProcess(
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
    const run = await runInProcess(
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
    const run = await runInProcess(
      { 'base-model': q4Base, 'adapter-path': partial, python },
      { cwd: dir, env: { MLX_STANDIN_LOG: log } }
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(message)
    expect(await fuses(log)).toEqual([])
  })
})
