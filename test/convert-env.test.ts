import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CONVERT_REQUIREMENTS, resolveConvertPython } from '../src/gguf/convert-env.js'
import { startPackageIndex, type PackageIndex } from './fixtures/pypi-index.js'
import { buildStandInWheel } from './fixtures/tiny.js'

let root: string
let index: PackageIndex

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'convert-env-'))
  index = await startPackageIndex([await buildStandInWheel(path.join(root, 'wheel'), '0.32.2')])
  // pip here reads only the loopback index (the machine's pip config is set aside).
  for (const k of Object.keys(process.env)) if (k.startsWith('PIP_')) delete process.env[k]
  process.env.PIP_CONFIG_FILE = '/dev/null'
  process.env.PIP_INDEX_URL = `${index.url}/simple/`
})
afterAll(async () => index.close())

describe('resolveConvertPython', () => {
  it("creates a venv from the checkout's requirements once, then reuses it", async () => {
    // A checkout whose convert requirements name a package the loopback index serves.
    const llamaDir = path.join(root, 'llama.cpp')
    await fs.mkdir(path.join(llamaDir, 'requirements'), { recursive: true })
    await fs.writeFile(path.join(llamaDir, CONVERT_REQUIREMENTS), 'mlx-lm==0.32.2\n')
    const venvRoot = path.join(root, 'tool-cache')
    const python = await resolveConvertPython({
      convertPython: null,
      llamaDir,
      commit: 'abcdef0123456789',
      venvRoot
    })
    expect(python).toBe(
      path.join(venvRoot, 'mlx-fuse-action', 'convert-abcdef012345', 'bin', 'python')
    )
    const installed = await fs.readdir(path.join(path.dirname(path.dirname(python)), 'lib'), {
      recursive: true
    })
    expect(installed.some(p => String(p).endsWith('mlx_lm-0.32.2.dist-info'))).toBe(true)
    const wheelRequests = index.requests.filter(r => r.endsWith('.whl')).length
    expect(
      await resolveConvertPython({
        convertPython: null,
        llamaDir,
        commit: 'abcdef0123456789',
        venvRoot
      })
    ).toBe(python)
    expect(index.requests.filter(r => r.endsWith('.whl')).length).toBe(wheelRequests)
  })

  it('checks a given convert-python runs, and refuses a checkout without requirements', async () => {
    expect(
      await resolveConvertPython({ convertPython: 'python3', llamaDir: root, commit: 'x' })
    ).toBe('python3')
    await expect(
      resolveConvertPython({
        convertPython: path.join(root, 'no-python'),
        llamaDir: root,
        commit: 'x'
      })
    ).rejects.toThrow(/Input convert-python ".*no-python" does not run/)
    await expect(
      resolveConvertPython({ convertPython: null, llamaDir: root, commit: 'x' })
    ).rejects.toThrow(
      /has no requirements\/requirements-convert_hf_to_gguf\.txt; set convert-python/
    )
  })
})
