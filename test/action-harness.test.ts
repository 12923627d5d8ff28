/**
 * The two ways the tests run the action: runAction spawns dist/index.js (and refuses a bundle
 * built from other sources), runInProcess calls run() in this process. The same step gives the
 * same exit code, log, outputs and summary either way.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sourcesHash, STAMP } from '../scripts/bundle-stamp.mjs'
import { assertFreshBundle, runAction, type ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'

/** A repository root with src/, package-lock.json and a stamped dist/. */
async function stampedTree(): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'stamp-'))
  await fs.mkdir(path.join(root, 'src', 'core'), { recursive: true })
  await fs.mkdir(path.join(root, 'dist'))
  await fs.writeFile(path.join(root, 'src', 'main.ts'), 'export const a = 1\n')
  await fs.writeFile(path.join(root, 'src', 'core', 'run.ts'), 'export const b = 2\n')
  await fs.writeFile(path.join(root, 'package-lock.json'), '{}\n')
  await fs.writeFile(path.join(root, STAMP), `${sourcesHash(root)}\n`)
  return root
}

describe('a bundle built from other sources is refused', () => {
  it('passes when dist/sources.sha256 matches src/ and package-lock.json', async () => {
    const root = await stampedTree()
    expect(() => assertFreshBundle(root)).not.toThrow()
  })

  it.each([
    ['a changed source', (root: string) => path.join(root, 'src', 'core', 'run.ts')],
    ['a new source', (root: string) => path.join(root, 'src', 'core', 'new.ts')],
    ['another package-lock.json', (root: string) => path.join(root, 'package-lock.json')]
  ])('refuses %s, in one sentence naming npm run bundle', async (_what, file) => {
    const root = await stampedTree()
    await fs.writeFile(file(root), 'export const b = 3\n')
    expect(() => assertFreshBundle(root)).toThrow(
      `${path.join(root, 'dist', 'index.js')} was built from other sources than src/ and package-lock.json (dist/sources.sha256 differs); run \`npm run bundle\`, then run the tests again.`
    )
  })

  it('refuses a bundle with no stamp', async () => {
    const root = await stampedTree()
    await fs.rm(path.join(root, STAMP))
    expect(() => assertFreshBundle(root)).toThrow(
      /dist\/sources\.sha256 is missing, so .*dist\/index\.js cannot be shown to match src\/; run `npm run bundle`/
    )
  })
})

describe('runInProcess gives what runAction gives', () => {
  /** The run with its temporary folders spelt the same way. */
  const same = (run: ActionRun): Omit<ActionRun, 'work'> => {
    // mkdtemp's six random characters are all that differs between the two runs.
    const text = (s: string): string =>
      s.replace(/\b(runner|work|mlx-fuse-comment)-[A-Za-z0-9]{6}\b/g, '$1-<tmp>')
    return {
      code: run.code,
      stdout: text(run.stdout),
      outputs: Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, text(v)])),
      summary: text(run.summary),
      annotations: run.annotations.map(text),
      commands: run.commands.map(c => ({ ...c, data: text(c.data), line: text(c.line) }))
    }
  }

  it('for a step refused at its inputs: the same exit code, log, commands and summary (spawns dist/index.js)', async () => {
    const inputs = {
      'base-model': 'org/model',
      'adapter-path': 'adapters',
      'size-budget': 'mlx: 2MB\n::error::forged',
      'hf-token': 'hf_not_a_real_token'
    }
    const work = async (): Promise<string> =>
      fs.mkdtemp(path.join(await fs.realpath(os.tmpdir()), 'work-'))
    const spawned = await runAction(inputs, { cwd: await work() })
    const inProcess = await runInProcess(inputs, { cwd: await work() })
    expect(spawned.code).toBe(1)
    expect(spawned.stdout).toContain('::add-mask::hf_not_a_real_token')
    expect(same(inProcess)).toEqual(same(spawned))
  })

  it('takes one run at a time: a second run while one runs is refused', async () => {
    const first = runInProcess({ 'base-model': '' })
    await expect(runInProcess({ 'base-model': '' })).rejects.toThrow(
      'runInProcess runs one action at a time; await the first run.'
    )
    expect((await first).code).toBe(1)
  })
})
