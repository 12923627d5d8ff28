/**
 * `npm run bench` on a machine with no built llama.cpp (no LLAMA_CPP_DIR, an empty cache folder):
 * it stops with one sentence that says how to get one, before any bench runs, and no stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { ROOT } from './fixtures/machine.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bench-refuse-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

/** Runs `npm run -s bench` with `env` over this process's environment minus LLAMA_CPP_DIR. */
function bench(env: Record<string, string>): { code: number | null; out: string; err: string } {
  const base = { ...process.env }
  delete base.LLAMA_CPP_DIR
  const r = spawnSync('npm', ['run', '-s', 'bench'], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  })
  if (r.error) throw r.error
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('npm run bench without a built llama.cpp', () => {
  it('stops before any bench with one sentence naming LLAMA_CPP_DIR, npm test and prepare-llama', async () => {
    const cache = join(work, 'empty-cache')
    await mkdir(cache)
    const r = bench({ MLX_FUSE_CACHE: cache })
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toBe(
      `npm run bench needs a built llama.cpp checkout: LLAMA_CPP_DIR is not set and ${cache} holds none; run \`npm test\` once (its set-up fetches and builds one there), or build a checkout with \`npm run prepare-llama -- <dir>\` and set LLAMA_CPP_DIR=<dir>.\n`
    )
  })

  it('says so in one sentence when LLAMA_CPP_DIR is not a llama.cpp checkout', () => {
    const dir = join(work, 'not-llama')
    const r = bench({ LLAMA_CPP_DIR: dir, MLX_FUSE_CACHE: join(work, 'unused') })
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toBe(
      `LLAMA_CPP_DIR is "${dir}", which has no convert_hf_to_gguf.py: set it to a llama.cpp checkout, or unset it to use the one \`npm test\` builds.\n`
    )
  })
})
