/**
 * The Python environments the tests build from locks/ (test/global-setup.js, scripts/prepare-envs.ts)
 * hold exactly their lock files and no CUDA package, and the action's own fuse step fuses the
 * committed example model with the real mlx-lm of each: 0.32.2 (`--dequantize`) and 0.28.3
 * (`--de-quantize`, and the stale quantization_config the action removes).
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runFuse } from '../../src/mlx/fuse.js'
import { resolveMlxEnv } from '../../src/mlx/python.js'
import { TEST_ENVS } from '../global-setup.js'
import { ROOT } from '../fixtures/machine.js'
import { FIXTURES_DIR, readSafetensorsHeader } from '../fixtures/tiny.js'

const python = (variable: string): string => {
  const p = process.env[variable]
  if (!p) throw new Error(`${variable} is set by test/global-setup.js`)
  return p
}

const pip = (py: string, ...args: string[]): string =>
  execFileSync(py, ['-P', '-m', 'pip', '--disable-pip-version-check', ...args], {
    cwd: os.tmpdir()
  }).toString()

/** `name==version` lines, names normalised (PEP 503) and sorted. */
const pins = (text: string): string[] =>
  text
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))
    .map(l => {
      const [name, version] = l.split('==')
      return `${name.toLowerCase().replace(/[-_.]+/g, '-')}==${version}`
    })
    .sort()

describe.each(Object.entries(TEST_ENVS))('the %s environment', (variable, lock) => {
  it(`holds exactly locks/${lock}, and no nvidia-* package`, async () => {
    const py = python(variable)
    const listed = JSON.parse(pip(py, 'list', '--format=json')) as Array<{ name: string }>
    expect(listed.length).toBeGreaterThan(10)
    expect(listed.map(p => p.name).filter(n => /^nvidia[-_]/i.test(n))).toEqual([])
    const frozen = pip(py, 'freeze', '--all', '--exclude', 'pip')
    expect(pins(frozen)).toEqual(pins(await fs.readFile(path.join(ROOT, 'locks', lock), 'utf8')))
    expect(pip(py, 'check')).toContain('No broken requirements found')
  })
})

describe('the converter environment', () => {
  it('has a CPU build of torch 2.13.0 and the checkout pins', () => {
    const out = execFileSync(
      python('MLX_FUSE_TEST_CONVERT_PYTHON'),
      [
        '-P',
        '-c',
        'import torch, transformers, numpy; print(torch.__version__, torch.version.cuda, transformers.__version__, numpy.__version__)'
      ],
      { cwd: os.tmpdir() }
    )
      .toString()
      .trim()
    expect(out).toMatch(/^2\.13\.0(\+cpu)? None 4\.57\.6 1\.26\.4$/)
  })
})

describe.each([
  ['MLX_FUSE_TEST_MLX_PYTHON', '0.32.2', '--dequantize'],
  ['MLX_FUSE_TEST_MLX_OLD_PYTHON', '0.28.3', '--de-quantize']
] as const)("the action's fuse step with the real mlx-lm (%s)", (variable, version, flag) => {
  const example = path.join(FIXTURES_DIR, 'example-model')
  const base = path.join(example, 'base-4bit')
  const adapters = path.join(example, 'adapters')

  it(`fuses the example model, kept quantized and de-quantized with ${flag}`, async () => {
    const env = await resolveMlxEnv({ python: python(variable), mlxLmVersion: version })
    expect(env).toMatchObject({ mlxLmVersion: version, dequantizeFlag: flag, source: 'input' })
    const out = await fs.mkdtemp(path.join(os.tmpdir(), `real-fuse-${version}-`))
    const req = { env, model: base, adapterPath: adapters, hfToken: null, trustRemoteCode: false }

    const kept = path.join(out, 'kept')
    await runFuse({ ...req, dequantize: false }, kept)
    const keptConfig = JSON.parse(await fs.readFile(path.join(kept, 'config.json'), 'utf8'))
    expect(keptConfig.quantization).toMatchObject({ bits: 4 })
    const keptHeader = await readSafetensorsHeader(path.join(kept, 'model.safetensors'))
    expect(Object.keys(keptHeader.tensors).some(k => k.endsWith('.scales'))).toBe(true)

    const full = path.join(out, 'full')
    const argv = await runFuse({ ...req, dequantize: true }, full)
    expect(argv).toContain(flag)
    expect(argv.slice(1, 5)).toEqual(['-P', '-m', 'mlx_lm', 'fuse']) // as run: Python 3.11
    const fullConfig = JSON.parse(await fs.readFile(path.join(full, 'config.json'), 'utf8'))
    // 0.28.3 leaves a stale quantization_config: the fuse step removes it
    expect(fullConfig).not.toHaveProperty('quantization')
    expect(fullConfig).not.toHaveProperty('quantization_config')
    const fullHeader = await readSafetensorsHeader(path.join(full, 'model.safetensors'))
    const dtypes = new Set(Object.values(fullHeader.tensors).map(t => t.dtype))
    expect([...dtypes].every(d => ['F16', 'BF16', 'F32'].includes(d))).toBe(true)
    expect(Object.keys(fullHeader.tensors).some(k => k.endsWith('.scales'))).toBe(false)
    await fs.rm(out, { recursive: true, force: true })
  })
})
