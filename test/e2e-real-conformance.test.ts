/**
 * Conformance of the mlx_lm stand-in (test/fixtures/mlx-stand-in) to the real mlx-lm: the same
 * fuse command line, run by both on the same tiny real gemma3 (4-bit by that version's own
 * `mlx_lm convert -q`, test/fixtures/real.ts)
 * and the same real LoRA adapters, per version, must write the same thing where the action
 * relies on it: the de-quantize flag's spelling, the files (adapter files never copied), the
 * index file, each tensor's name, dtype and shape, and which config.json keys are kept or dropped
 * (the stale `quantization_config` of 0.28.3 included).
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { mlxOldPython, mlxPython, realAdapters, realModel } from './fixtures/real.js'
import { makeStandInPython, readSafetensorsHeader, run } from './fixtures/tiny.js'

let root: string
let adapters: string

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'real-conformance-')))
  adapters = (await realAdapters('gemma3', '4bit', 'lora')).dir
}, 1_800_000)

/**
 * The 4-bit base, quantized by this version's own `mlx_lm convert -q` from the Hub-style bf16
 * base: a tokenizer saved by 0.32.2 (transformers v5) does not load in 0.28.3 (transformers 4.x).
 * The adapters, trained on the 0.32.2 4-bit model, fit either: same modules, same shapes.
 */
async function quantizedBase(python: string, version: string): Promise<string> {
  const bf16 = (await realModel('gemma3', 'bf16')).dir
  const out = path.join(root, `base-${version}`)
  await run(python, [
    ...['-m', 'mlx_lm', 'convert', '--hf-path', bf16, '--mlx-path', out],
    ...['-q', '--q-bits', '4', '--q-group-size', '64']
  ])
  return out
}

interface Written {
  files: string[]
  index: string[]
  tensors: Record<string, string>
  configKeys: string[]
}

/** What a fuse wrote, in the terms the action relies on. */
async function written(dir: string): Promise<Written> {
  const files = (await fs.readdir(dir)).sort()
  const index = JSON.parse(
    await fs.readFile(path.join(dir, 'model.safetensors.index.json'), 'utf8')
  )
  const tensors: Record<string, string> = {}
  for (const file of new Set(Object.values(index.weight_map as Record<string, string>))) {
    const h = await readSafetensorsHeader(path.join(dir, file))
    for (const [name, t] of Object.entries(h.tensors))
      tensors[name] = `${t.dtype}${JSON.stringify(t.shape)}`
  }
  const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'))
  return {
    files,
    index: Object.keys(index.weight_map).sort(),
    tensors,
    configKeys: Object.keys(config).sort()
  }
}

describe.each([
  ['0.32.2', mlxPython, '--dequantize'],
  ['0.28.3', mlxOldPython, '--de-quantize']
])('the stand-in as mlx-lm %s against the real one', (version, realPython, flag) => {
  let standIn: string
  let base: string
  beforeAll(async () => {
    standIn = await makeStandInPython(path.join(root, `py-${version}`), version)
    base = await quantizedBase(realPython(), version)
  }, 600_000)

  it('spells the de-quantize flag the same in fuse --help', async () => {
    for (const python of [realPython(), standIn]) {
      const { stdout } = await run(python, ['-m', 'mlx_lm', 'fuse', '--help'])
      expect(stdout).toContain(flag)
      expect(stdout).not.toContain(flag === '--dequantize' ? '--de-quantize' : '--dequantize ')
    }
  }, 600_000)

  it.each([
    ['quantized', [] as string[]],
    ['de-quantized', ['DEQUANTIZE']]
  ])(
    'writes the same %s fuse',
    async (mode, extra) => {
      const made: Written[] = []
      for (const [who, python] of [
        ['real', realPython()],
        ['stand-in', standIn]
      ] as const) {
        const out = path.join(root, `${version}-${mode}-${who}`)
        await run(python, [
          ...[
            '-m',
            'mlx_lm',
            'fuse',
            '--model',
            base,
            '--adapter-path',
            adapters,
            '--save-path',
            out
          ],
          ...extra.map(() => flag)
        ])
        made.push(await written(out))
      }
      const [real, stand] = made
      // Adapter files are never copied; both write the index file.
      for (const w of [real, stand]) {
        expect(w.files.filter(f => f.includes('adapter'))).toEqual([])
        expect(w.files).toContain('model.safetensors.index.json')
      }
      expect(stand.index).toEqual(real.index)
      expect(stand.tensors).toEqual(real.tensors)
      expect(stand.configKeys).toEqual(real.configKeys)
      expect(stand.files.filter(f => f.endsWith('.safetensors') || f === 'config.json')).toEqual(
        real.files.filter(f => f.endsWith('.safetensors') || f === 'config.json')
      )
    },
    1_800_000
  )
})
