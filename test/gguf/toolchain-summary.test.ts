/**
 * cache-toolchain in run(), in-process: the summary's note on what each toolchain part did. Here
 * the real llama.cpp build (llama-cpp-dir, already built) and the converter stand-in; the cache
 * itself (keys, restores, faults) is test/tool-cache.test.ts and test/gguf-toolchain.test.ts.
 * Named gguf-toolchain-* so `npm run test:unit`, which builds no llama.cpp, leaves it out.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import * as core from '../__fixtures__/core.js'
import { realLlamaCpp } from '../fixtures/llama-stand-in/helpers.js'
import { FIXTURES_DIR, makeTinySetup } from '../fixtures/tiny.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/main.js')

let root: string
let base: string
let adapters: string
let python: string

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('toolchain-summary', {
    base: { dtype: 'bf16' }
  }))
  process.env.GITHUB_STEP_SUMMARY = path.join(root, 'summary.md')
})

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

/** Inputs for a GGUF run into a fresh folder. */
async function mlxRun(extra: Record<string, string>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(root, 'run-'))
  Object.assign(core.inputs, {
    'base-model': base,
    'adapter-path': adapters,
    python,
    'output-dir': path.join(dir, 'fused-model'),
    upload: 'false',
    ...extra
  })
}

describe('cache-toolchain in the summary', () => {
  it('cache-toolchain: the summary says what each toolchain part did; without it, nothing', async () => {
    const gguf = {
      gguf: 'Q8_0',
      'llama-cpp-dir': realLlamaCpp().dir,
      'convert-python': path.join(FIXTURES_DIR, 'llama-stand-in', 'python')
    }
    await mlxRun({ ...gguf, 'cache-toolchain': 'true' })
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    // llama-cpp-dir is built already and the interpreters are inputs: only the build is reported.
    expect(core.summary.text).toContain(
      '<p>Toolchain (cache-toolchain):<ul><li>llama.cpp build: reused (already on the runner)</li></ul></p>'
    )
    core.reset()
    await mlxRun(gguf)
    await run()
    expect(core.setFailed).not.toHaveBeenCalled()
    expect(core.summary.text).not.toContain('Toolchain (cache-toolchain)')
  })
})
