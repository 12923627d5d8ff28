import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { baseGgufCache } from '../../src/gguf/base-cache.js'

const COMMIT = 'beef'.padEnd(40, '0')
const LLAMA = 'c0de'.padEnd(40, '0')

describe("the base GGUF's cache entry", () => {
  it('is keyed by repository, commit and llama.cpp commit, and finds a file of a 16-bit type', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'base-cache-'))
    const env = { RUNNER_TOOL_CACHE: root }
    const base = { repo: 'org/model', commit: COMMIT }
    const miss = await baseGgufCache(base, LLAMA, env)
    expect(miss).toEqual({
      dir: path.join(root, 'mlx-fuse-action', 'base-gguf', 'org--model', COMMIT, LLAMA),
      hit: null
    })
    await fs.mkdir(miss!.dir, { recursive: true })
    await fs.writeFile(path.join(miss!.dir, 'F16.gguf'), 'gguf')
    expect((await baseGgufCache(base, LLAMA, env))?.hit).toEqual({
      file: path.join(miss!.dir, 'F16.gguf'),
      type: 'F16'
    })
    // Another llama.cpp commit's converter: a miss.
    expect((await baseGgufCache(base, 'f'.repeat(40), env))?.hit).toBeNull()
  })

  it('is not kept for a local base, nor on a GitHub-hosted runner', async () => {
    expect(await baseGgufCache(null, LLAMA, {})).toBeNull()
    expect(
      await baseGgufCache({ repo: 'org/model', commit: COMMIT }, LLAMA, {
        RUNNER_ENVIRONMENT: 'github-hosted'
      })
    ).toBeNull()
  })
})
