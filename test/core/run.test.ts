/**
 * Issue 6, tools that fail in odd ways: each case is reproduced with a stand-in that fails the
 * same way the real tool did, and the sentence the user gets is asserted.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readModelConfig } from '../../src/mlx/model-config.js'
import { runFuse } from '../../src/mlx/fuse.js'
import { resolveMlxEnv, type MlxEnv } from '../../src/mlx/python.js'
import { ActionError } from '../../src/core/types.js'

let root: string
const spy = jest.spyOn(process.stdout, 'write')
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tool-failures-'))
})
beforeEach(() => {
  spy.mockImplementation(() => true)
})
afterEach(() => {
  spy.mockReset()
})

/** An executable sh script standing in for `python -m mlx_lm fuse ... --save-path OUT`. */
async function fakePython(name: string, body: string): Promise<string> {
  const file = path.join(root, name)
  const script = `#!/bin/sh
out=""
while [ $# -gt 0 ]; do [ "$1" = "--save-path" ] && out="$2"; shift; done
echo "Loading pretrained model"
echo "Fusing adapters"
${body}
`
  await fs.writeFile(file, script, { mode: 0o755 })
  return file
}

const env = (python: string): MlxEnv => ({
  python,
  pythonVersion: '3.12.1',
  mlxLmVersion: '0.32.2',
  entry: 'subcommand',
  dequantizeFlag: '--dequantize',
  trustRemoteCodeFlag: true,
  source: 'input'
})

async function fuse(python: string): Promise<{ error: ActionError; out: string }> {
  const out = path.join(await fs.mkdtemp(path.join(root, 'stage-')), 'fused')
  const req = {
    env: env(python),
    model: '/m',
    adapterPath: '/a',
    dequantize: false,
    hfToken: null,
    trustRemoteCode: false
  }
  const error = await runFuse(req, out).then(
    () => null,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(ActionError)
  return { error: error as ActionError, out }
}

describe('mlx_lm fuse failing oddly', () => {
  it('names the signal and out-of-memory when the fuse is killed, not "exit code null"', async () => {
    const { error, out } = await fuse(await fakePython('killed', 'kill -KILL $$'))
    expect(error.message).toMatch(
      /^mlx_lm fuse was killed by SIGKILL \(signal 9, which usually means the machine ran out of memory\): /
    )
    expect(error.message).not.toContain('null')
    expect(error.exitCode).toBe(137)
    await expect(fs.stat(out)).rejects.toThrow()
  })

  it.each([
    ['writes nothing', 'exit 0', /is empty or missing/],
    [
      'writes only config.json',
      'mkdir -p "$out"; echo \'{"model_type": "llama"}\' > "$out/config.json"',
      /holds no \.safetensors files/
    ],
    [
      'writes a corrupt model',
      'mkdir -p "$out"; echo \'{}\' > "$out/config.json"; printf "garbage!garbage" > "$out/model.safetensors"',
      /model\.safetensors is truncated or not a safetensors file/
    ],
    [
      'writes a config that is not JSON',
      'mkdir -p "$out"; echo "{" > "$out/config.json"',
      /config\.json is not a JSON object/
    ]
  ])(
    'says mlx_lm reported success but wrote no complete model when it %s',
    async (_what, body, why) => {
      const { error, out } = await fuse(
        await fakePython(`ok-${Math.random().toString(36).slice(2)}`, body)
      )
      expect(error.message).toMatch(
        /^mlx_lm fuse reported success \(exit code 0\) but wrote no complete model: /
      )
      expect(error.message).toMatch(why)
      expect(error.message).toContain(
        'Its last output lines: Loading pretrained model | Fusing adapters.'
      )
      expect(error.message).toContain('not of your inputs')
      expect(error.message).not.toContain('point the input')
      await expect(fs.stat(out)).rejects.toThrow()
    }
  )
})

describe('an interpreter that is not Python', () => {
  it.each([
    ['/bin/true', 'printed nothing'],
    ['/bin/echo', 'printed "-c import sys; print(\\"%d.%d.%d\\" % sys.version_info[:3])"']
  ])('%s: says it did not answer as Python does', async (python, said) => {
    const promise = resolveMlxEnv({ python, mlxLmVersion: '0.32.2' })
    await expect(promise).rejects.toThrow(ActionError)
    await expect(promise).rejects.toThrow(
      `Input python "${python}" did not answer as Python does: asked for its version`
    )
    await expect(promise).rejects.toThrow(said)
    await expect(promise).rejects.not.toThrow(/is Python ,/)
  })
})

describe('a base config.json with malformed quantization', () => {
  it.each([
    ['"4"', /quantization\.bits "4", which is not a positive whole number/],
    ['null', /quantization\.bits null/],
    ['4.5', /quantization\.bits 4\.5/]
  ])('refuses bits %s before any fuse', async (bits, message) => {
    const dir = await fs.mkdtemp(path.join(root, 'cfg-'))
    await fs.writeFile(
      path.join(dir, 'config.json'),
      `{"model_type": "llama", "quantization": {"bits": ${bits}, "group_size": 64}}`
    )
    await expect(readModelConfig(dir)).rejects.toThrow(message)
  })

  it('still reads a well-formed one', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'cfg-'))
    await fs.writeFile(
      path.join(dir, 'config.json'),
      '{"quantization": {"bits": 4, "group_size": 64}, "quantization_config": {"group_size": -1}}'
    )
    expect((await readModelConfig(dir)).quantization).toEqual({
      bits: 4,
      groupSize: 64,
      mode: 'affine'
    })
  })
})
