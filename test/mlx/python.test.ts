import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  checkDequantizeSupport,
  detectDequantizeFlag,
  mlxCommand,
  resolveMlxEnv,
  type MlxEnv
} from '../../src/mlx/python.js'

// Shapes of the real argparse help of mlx_lm fuse before and after the 0.28.4 rename.
const OLD_HELP = `usage: fuse.py [-h] [--model MODEL] [--save-path SAVE_PATH] [--adapter-path ADAPTER_PATH]
               [--hf-path HF_PATH] [--upload-repo UPLOAD_REPO] [--de-quantize]
options:
  --de-quantize         Generate a de-quantized model.`
const NEW_HELP = `usage: fuse.py [-h] [--model MODEL] [--save-path SAVE_PATH] [--adapter-path ADAPTER_PATH]
               [--upload-repo UPLOAD_REPO] [--dequantize] [--export-gguf] [--gguf-path GGUF_PATH]
options:
  --dequantize          Generate a dequantized model.`

const env = (over: Partial<MlxEnv>): MlxEnv => ({
  python: 'python3',
  pythonVersion: '3.12.1',
  mlxLmVersion: '0.32.2',
  entry: 'subcommand',
  dequantizeFlag: '--dequantize',
  trustRemoteCodeFlag: true,
  source: 'path',
  ...over
})

describe('mlx_lm flags and versions', () => {
  it('reads the de-quantize spelling from --help, for both spellings', () => {
    expect(detectDequantizeFlag(OLD_HELP)).toBe('--de-quantize')
    expect(detectDequantizeFlag(NEW_HELP)).toBe('--dequantize')
    expect(detectDequantizeFlag('usage: fuse.py [-h] [--model MODEL]')).toBeNull()
  })

  it('compares Python versions numerically (3.9.6 is older than 3.10)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pyver-'))
    const fake = async (version: string): Promise<string> => {
      const file = path.join(dir, `python-${version}`)
      await fs.writeFile(file, `#!/bin/sh\necho ${version}\n`, { mode: 0o755 })
      return file
    }
    await expect(
      resolveMlxEnv({ python: await fake('3.9.6'), mlxLmVersion: '0.32.2' })
    ).rejects.toThrow(/is Python 3\.9\.6, and mlx-lm needs Python 3\.10 or newer/)
    // 3.10.0 passes the version check (the fake then answers every question with its version).
    await expect(
      resolveMlxEnv({ python: await fake('3.10.0'), mlxLmVersion: '0.32.2' })
    ).resolves.toMatchObject({ pythonVersion: '3.10.0' })
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('builds the entry point for both command styles', () => {
    expect(mlxCommand(env({}), 'fuse')).toEqual(['-m', 'mlx_lm', 'fuse'])
    expect(mlxCommand(env({ entry: 'module' }), 'convert')).toEqual(['-m', 'mlx_lm.convert'])
  })

  it('refuses mlx-lm 0.28.4 with de-quantize, and a fuse without the flag', () => {
    expect(() => checkDequantizeSupport(env({ mlxLmVersion: '0.28.4' }), true)).toThrow(
      /0\.28\.4 crashes when de-quantizing .*fixed in 0\.29/
    )
    expect(() => checkDequantizeSupport(env({ mlxLmVersion: '0.28.4' }), false)).not.toThrow()
    expect(() => checkDequantizeSupport(env({ dequantizeFlag: null }), true)).toThrow(
      /has no de-quantize flag/
    )
    expect(() => checkDequantizeSupport(env({}), true)).not.toThrow()
  })
})

describe('resolveMlxEnv', () => {
  it("refuses a Python older than 3.10 (a macOS runner's default) and points at setup-python", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'py39-'))
    const python = path.join(dir, 'python3.9')
    // Answers the version probe the way Apple's /usr/bin/python3 does.
    await fs.writeFile(python, '#!/bin/sh\necho 3.9.6\n', { mode: 0o755 })
    await expect(resolveMlxEnv({ python, mlxLmVersion: '0.32.2' })).rejects.toThrow(
      /is Python 3\.9\.6, and mlx-lm needs Python 3\.10 or newer; add an actions\/setup-python step/
    )
  })

  it('refuses a python input that cannot import mlx_lm, with the install command', async () => {
    await expect(resolveMlxEnv({ python: 'python3', mlxLmVersion: '0.32.2' })).rejects.toThrow(
      /Input python "python3" cannot import mlx_lm; run "python3 -m pip install mlx-lm==0\.32\.2" first/
    )
  })
})
