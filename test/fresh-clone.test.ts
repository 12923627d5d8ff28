/**
 * The README's first command on a fresh machine: a git clone of this repository's HEAD, HOME an
 * empty folder, no LLAMA_CPP_DIR, and a python3 first on PATH that cannot import numpy or
 * sentencepiece; `npm ci && npm run example` must fuse the committed example model and print a
 * clean summary. npm ci uses this machine's npm cache (--prefer-offline) so no download is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

import { ROOT, allOnPath } from './fixtures/machine.js'

let work: string
let clone: string
let env: NodeJS.ProcessEnv

/** Runs a command in the clone; resolves with its exit code and everything it printed. */
function sh(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise(resolve => {
    execFile(
      file,
      args,
      { cwd: clone, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}\n${stderr}` })
    )
  })
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fresh-clone-'))
  clone = join(work, 'clone')
  const home = join(work, 'home')
  const bin = join(work, 'bin')
  const hide = join(work, 'hide')
  await Promise.all([mkdir(home), mkdir(bin), mkdir(join(hide, 'numpy'), { recursive: true })])
  execFileSync('git', ['clone', '--quiet', ROOT, clone])
  // a python3 that cannot import numpy (nor sentencepiece), wherever this machine has them
  await writeFile(join(hide, 'numpy', '__init__.py'), 'raise ImportError("hidden by the test")\n')
  await writeFile(join(hide, 'sentencepiece.py'), 'raise ImportError("hidden by the test")\n')
  const python = allOnPath('python3')[0]
  await writeFile(
    join(bin, 'python3'),
    `#!/bin/sh\nPYTHONPATH='${hide}'\nexport PYTHONPATH\nexec '${python}' "$@"\n`
  )
  await chmod(join(bin, 'python3'), 0o755)
  // this repository's node_modules/.bin (and its node) stay off PATH, as on a fresh machine
  const path = (process.env.PATH ?? '').split(delimiter).filter(d => !d.startsWith(ROOT))
  env = {
    PATH: [bin, ...path].join(delimiter),
    HOME: home,
    LANG: 'C.UTF-8',
    // the machine's npm cache, so npm ci --prefer-offline needs no network
    npm_config_cache: execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim()
  }
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('npm ci && npm run example on a fresh clone', () => {
  it('needs no numpy, no llama.cpp and no set-up, and prints a clean summary', async () => {
    expect((await sh('python3', ['-c', 'import numpy'])).code).not.toBe(0)
    expect(env.LLAMA_CPP_DIR).toBeUndefined()

    const ci = await sh('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'])
    expect(ci.out).not.toMatch(/npm error/)
    expect(ci.code).toBe(0)
    const example = await sh('npm', ['run', 'example'])
    expect(example.out).toContain('using the test stand-in for mlx_lm')
    expect(example.code).toBe(0)

    const summary = example.out.slice(example.out.indexOf('----- job summary'))
    expect(summary).toContain('Every output is within its size budget')
    expect(summary).toMatch(/mlx \| MLX safetensors, 4-bit affine, group 64/)
    expect(summary).toMatch(/[\d,]+ bytes\b/)
    expect(summary).toMatch(/\b8 files\b/)
    expect(summary).toContain('mlx=2MB')
    expect(summary).toContain(join(clone, 'test', 'fixtures', 'example-model', 'base-4bit'))
    // the defaults run clean: no warning, no error, no budget for an output it does not make
    expect(example.out).not.toMatch(/::(warning|error)/)
    expect(summary).not.toContain('gguf=')
    expect(existsSync(join(clone, 'example-work', 'fused-model', 'model.safetensors'))).toBe(true)
  }, 300_000)
})
