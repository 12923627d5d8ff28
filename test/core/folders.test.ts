/**
 * Where output-dir and gguf-dir may go and what overwrite may empty, in-process: readInputs
 * refuses a folder that is or contains something the user owns before anything runs, and
 * checkOutputDir empties only what a manifest of this action names.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  checkManifestPath,
  checkOutputDir,
  checkOutputFolders,
  lockOutputDir
} from '../../src/core/folders.js'
import { makeStaging, promote } from '../../src/core/workspace.js'
import type { Config } from '../../src/core/config.js'
import { readInputs } from '../../src/inputs.js'

let root: string
let workspace: string
let home: string
const saved = { HOME: process.env.HOME, GITHUB_WORKSPACE: process.env.GITHUB_WORKSPACE }

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'folders-')))
  home = path.join(root, 'home')
  workspace = path.join(home, 'work', 'repo')
  await fs.mkdir(path.join(workspace, '.git'), { recursive: true })
  // Base and adapters outside the workspace, as in the reported runs: their own guard is silent.
  await fs.mkdir(path.join(root, 'models', 'base'), { recursive: true })
  await fs.writeFile(path.join(root, 'models', 'base', 'config.json'), '{}')
  await fs.mkdir(path.join(root, 'models', 'adapters'))
  await fs.mkdir(path.join(workspace, 'llama.cpp'))
  await fs.mkdir(path.join(workspace, 'data'))
  await fs.writeFile(path.join(workspace, 'data', 'imatrix.dat'), 'imatrix')
  await fs.mkdir(path.join(root, 'other', 'deep', 'clone', '.git'), { recursive: true })
  await fs.symlink(home, path.join(workspace, 'link-to-home'))
})

const set = (inputs: Record<string, string>): void => {
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
}
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) delete process.env[k]
  process.env.HOME = saved.HOME
  if (saved.GITHUB_WORKSPACE === undefined) delete process.env.GITHUB_WORKSPACE
  else process.env.GITHUB_WORKSPACE = saved.GITHUB_WORKSPACE
})

function inWorkspace(inputs: Record<string, string>): Promise<unknown> {
  process.env.HOME = home
  process.env.GITHUB_WORKSPACE = workspace
  const models = path.join(root, 'models')
  set({ 'base-model': `${models}/base`, 'adapter-path': `${models}/adapters`, ...inputs })
  return readInputs(workspace)
}

describe('output folders that are or contain what the user owns are refused up front', () => {
  const gguf = { gguf: 'Q8_0', 'llama-cpp-dir': 'llama.cpp' }
  it.each([
    [
      'output-dir is the workspace',
      { 'output-dir': '.' },
      /output-dir ".*repo" is or contains the workspace/
    ],
    [
      'gguf-dir is the workspace',
      { ...gguf, 'gguf-dir': '.' },
      /gguf-dir ".*repo" is or contains the workspace/
    ],
    [
      'output-dir contains the workspace',
      { 'output-dir': '..' },
      /output-dir ".*work" is or contains the workspace/
    ],
    // Read as written, link-to-home lies inside the workspace; resolved, it is $HOME around it.
    [
      'output-dir is $HOME through a link',
      { 'output-dir': 'link-to-home' },
      /output-dir ".*link-to-home" is or contains the workspace/
    ],
    [
      'output-dir is the filesystem root',
      { 'output-dir': '/' },
      /output-dir "\/" is the file system root/
    ],
    [
      'output-dir is the llama.cpp checkout',
      { ...gguf, 'output-dir': 'llama.cpp' },
      /output-dir ".*llama.cpp" is or contains the llama.cpp checkout/
    ],
    [
      'output-dir holds the imatrix file',
      { ...gguf, imatrix: 'data/imatrix.dat', 'output-dir': 'data' },
      /output-dir ".*data" is or contains the imatrix file/
    ],
    [
      'output-dir is a git work tree root',
      { 'output-dir': '../../../other/deep/clone' },
      /is or contains a git work tree \(".*clone"\)/
    ],
    [
      'output-dir contains a git work tree',
      { 'output-dir': '../../../other' },
      /output-dir ".*other" is or contains a git work tree \(".*clone"\)/
    ],
    [
      'gguf-dir equals output-dir',
      { gguf: 'Q8_0', 'output-dir': 'm', 'gguf-dir': 'm' },
      /gguf-dir ".*m" overlaps output-dir/
    ],
    [
      'gguf-dir inside output-dir',
      { gguf: 'Q8_0', 'output-dir': 'm', 'gguf-dir': 'm/gguf' },
      /gguf-dir ".*m\/gguf" overlaps output-dir/
    ],
    [
      'gguf-dir around output-dir',
      { gguf: 'Q8_0', 'output-dir': 'out/m', 'gguf-dir': 'out' },
      /gguf-dir ".*out" overlaps output-dir/
    ]
  ])('%s', async (_name, inputs, message) => {
    await expect(inWorkspace(inputs)).rejects.toThrow(message)
  })

  it('allows an output folder inside the workspace and inside $HOME (the default)', async () => {
    await expect(inWorkspace({})).resolves.toMatchObject({
      outputDir: path.join(workspace, 'fused-model')
    })
    await expect(inWorkspace({ gguf: 'Q8_0', 'gguf-dir': 'dist/gguf' })).resolves.toBeTruthy()
  })
})

describe('checkOutputDir empties only what a manifest of this action names', () => {
  async function folderWith(name: string, manifest: unknown): Promise<string> {
    const dir = path.join(root, 'proof', name)
    await fs.mkdir(dir, { recursive: true })
    await fs.writeFile(path.join(dir, 'model.safetensors'), 'model')
    if (manifest !== undefined) {
      await fs.writeFile(
        `${dir}.manifest.json`,
        typeof manifest === 'string' ? manifest : JSON.stringify(manifest)
      )
    }
    return dir
  }
  const ours = { schemaVersion: 1, generator: 'mlx-fuse-action' }

  it('accepts the folders a current manifest lists, and a release-1 manifest by its paths', async () => {
    const current = await folderWith('current', {
      ...ours,
      folders: { outputDir: path.join(root, 'proof', 'current'), ggufDir: '/x/g' }
    })
    await expect(
      checkOutputDir(current, 'output-dir', true, `${current}.manifest.json`)
    ).resolves.toBeUndefined()
    const old = await folderWith('old', {
      ...ours,
      outputs: [
        { kind: 'mlx', path: path.join(root, 'proof', 'old') },
        { kind: 'gguf', path: path.join(root, 'proof', 'old-gguf', 'm-Q8_0.gguf') }
      ]
    })
    const oldGguf = await folderWith('old-gguf', undefined)
    await expect(
      checkOutputDir(old, 'output-dir', true, `${old}.manifest.json`)
    ).resolves.toBeUndefined()
    await expect(
      checkOutputDir(oldGguf, 'gguf-dir', true, `${old}.manifest.json`)
    ).resolves.toBeUndefined()
  })

  it.each([
    ['no manifest', undefined],
    ['a manifest of another tool', { schemaVersion: 1, generator: 'other', folders: {} }],
    ['a manifest that is not JSON', '{"generator": "mlx-fuse-action"'],
    ['a manifest naming another folder', { ...ours, folders: { outputDir: '/elsewhere' } }],
    [
      'a release-1 manifest of another path',
      { ...ours, outputs: [{ kind: 'mlx', path: '/elsewhere' }] }
    ]
  ])('refuses a non-empty folder with %s, even with overwrite', async (name, manifest) => {
    const dir = await folderWith(name.replace(/\W+/g, '-'), manifest)
    await expect(checkOutputDir(dir, 'output-dir', true, `${dir}.manifest.json`)).rejects.toThrow(
      /already holds 1 entries that this action did not make .*choose an empty or new folder, or delete it once by hand/
    )
  })

  it('replaces <gguf-dir>.intermediates (keep-intermediates) only when the manifest names it', async () => {
    const kept = path.join(workspace, 'fused-model-gguf.intermediates')
    await fs.mkdir(kept, { recursive: true })
    await fs.writeFile(path.join(kept, 'notes.txt'), 'mine')
    const config = (await inWorkspace({
      gguf: 'Q8_0',
      'keep-intermediates': 'true'
    })) as Config
    await expect(checkOutputFolders(config)).rejects.toThrow(
      /intermediates\) ".*fused-model-gguf.intermediates" already holds 1 entries that this action did not make/
    )
    await fs.writeFile(
      config.manifestPath,
      JSON.stringify({
        ...ours,
        gguf: { dir: path.join(workspace, 'fused-model-gguf'), intermediates: kept }
      })
    )
    await expect(checkOutputFolders(config)).resolves.toMatchObject({ intermediates: kept })
    await fs.rm(config.manifestPath)
    await fs.rm(kept, { recursive: true })
  })

  it('never overwrites a file of another tool at the manifest path', async () => {
    const dir = await folderWith('foreign', { generator: 'other' })
    await expect(checkManifestPath(`${dir}.manifest.json`)).rejects.toThrow(
      /was not written by this action; move it away/
    )
  })
})

describe('folders the action makes', () => {
  it('get the usual permissions (umask respected), not 0700', async () => {
    const reference = path.join(root, 'reference')
    await fs.mkdir(reference)
    const final = path.join(root, 'made', 'fused-model')
    const staging = await makeStaging(final, 'fuse')
    await promote(staging, final)
    expect((await fs.stat(final)).mode & 0o777).toBe((await fs.stat(reference)).mode & 0o777)
  })
})

describe('issue 14: inside and outside by path segments, not string prefixes', () => {
  it('refuses gguf-dir "m/..gguf" inside output-dir "m"', async () => {
    await expect(
      inWorkspace({ gguf: 'Q8_0', 'output-dir': 'm', 'gguf-dir': 'm/..gguf' })
    ).rejects.toThrow(/gguf-dir ".*m\/\.\.gguf" overlaps output-dir ".*m"/)
  })

  it('refuses adapters in "out/..adapters" and a base in "out/..base" inside output-dir "out"', async () => {
    const adaptersInside = path.join(workspace, 'out', '..adapters')
    const baseInside = path.join(workspace, 'out2', '..base')
    await fs.mkdir(adaptersInside, { recursive: true })
    await fs.mkdir(baseInside, { recursive: true })
    await fs.writeFile(path.join(baseInside, 'config.json'), '{}')
    await expect(
      inWorkspace({ 'output-dir': 'out', 'adapter-path': 'out/..adapters' })
    ).rejects.toThrow(/output-dir ".*out" overlaps adapter-path ".*out\/\.\.adapters"/)
    await expect(
      inWorkspace({ 'output-dir': 'out2', 'base-model': 'out2/..base' })
    ).rejects.toThrow(/output-dir ".*out2" overlaps base-model ".*out2\/\.\.base"/)
  })

  it('still allows a sibling whose name starts with the same letters ("m" and "m..x")', async () => {
    await expect(
      inWorkspace({ gguf: 'Q8_0', 'output-dir': 'm', 'gguf-dir': 'm..x' })
    ).resolves.toBeTruthy()
  })
})

describe('issue 14: keep-intermediates into output-dir', () => {
  it('refuses output-dir equal to <gguf-dir>.intermediates before anything runs', async () => {
    await expect(
      inWorkspace({
        gguf: 'Q8_0',
        'keep-intermediates': 'true',
        'gguf-dir': 'g',
        'output-dir': 'g.intermediates'
      })
    ).rejects.toThrow(
      /gguf-dir \(its \.intermediates\) ".*g\.intermediates" overlaps output-dir ".*g\.intermediates"/
    )
  })
})

describe('issue 14: an output folder that is a symbolic link', () => {
  it('refuses it, even when a manifest of this action names the path, and empties nothing', async () => {
    const scene = await fs.mkdtemp(path.join(root, 'link-'))
    const victim = path.join(scene, 'victim')
    await fs.mkdir(victim)
    await fs.writeFile(path.join(victim, 'thesis.tex'), 'years of work')
    const out = path.join(scene, 'fused-model')
    await fs.symlink(victim, out)
    // An earlier run made "fused-model" as a real folder; it was replaced by a link since.
    await fs.writeFile(
      `${out}.manifest.json`,
      JSON.stringify({
        schemaVersion: 1,
        generator: 'mlx-fuse-action',
        folders: { outputDir: out }
      })
    )
    await expect(checkOutputDir(out, 'output-dir', true, `${out}.manifest.json`)).rejects.toThrow(
      /^Input output-dir ".*fused-model" is a symbolic link \(to ".*victim"\); .*point output-dir at a real folder/
    )
    expect(await fs.readdir(victim)).toEqual(['thesis.tex'])
  })

  it.each([
    ['to an empty folder', 'empty'],
    ['that dangles', 'nothing-here']
  ])('refuses a link %s up front (was ENOTDIR after the whole fuse)', async (_name, target) => {
    const scene = await fs.mkdtemp(path.join(root, 'link-'))
    await fs.mkdir(path.join(scene, 'empty'))
    const out = path.join(scene, 'fused-model')
    await fs.symlink(path.join(scene, target), out)
    await expect(checkOutputDir(out, 'output-dir', false, `${out}.manifest.json`)).rejects.toThrow(
      /^Input output-dir ".*fused-model" is a symbolic link/
    )
  })
})

describe('issue 14: one run at a time per output-dir (a lock file beside it)', () => {
  /** A process id that has exited (its process is gone), as a crashed run leaves. */
  async function goneProcessId(): Promise<number> {
    const child = spawn(process.execPath, ['-e', ''])
    await new Promise(resolve => child.on('close', resolve))
    return child.pid!
  }
  async function scene(): Promise<string> {
    const dir = await fs.mkdtemp(path.join(root, 'lock-'))
    return path.join(dir, 'fused-model')
  }
  const lockOf = (pid: number): string =>
    JSON.stringify({ generator: 'mlx-fuse-action', pid, host: os.hostname() })

  it('refuses when another running process holds the lock, and changes nothing', async () => {
    const out = await scene()
    // The parent of this test process is alive for as long as the test runs.
    await fs.writeFile(`${out}.lock`, lockOf(process.ppid))
    await expect(lockOutputDir(out)).rejects.toThrow(
      new RegExp(
        `^Another run of this action \\(process ${process.ppid} on this machine\\) is writing output-dir ".*fused-model" \\(lock file ".*fused-model.lock"\\); `
      )
    )
    expect(await fs.readFile(`${out}.lock`, 'utf8')).toBe(lockOf(process.ppid))
    expect(await fs.readdir(path.dirname(out))).toEqual(['fused-model.lock'])
  })

  it('takes over a stale lock whose process is gone', async () => {
    const out = await scene()
    await fs.writeFile(`${out}.lock`, lockOf(await goneProcessId()))
    await lockOutputDir(out)
    expect(JSON.parse(await fs.readFile(`${out}.lock`, 'utf8'))).toMatchObject({
      generator: 'mlx-fuse-action',
      pid: process.pid
    })
    await lockOutputDir(out) // this process holds it: taking it again is a no-op
    expect(await fs.readdir(path.dirname(out))).toEqual(['fused-model.lock'])
  })

  it('never removes a file at the lock path that this action did not write', async () => {
    const out = await scene()
    await fs.writeFile(`${out}.lock`, 'my notes')
    await expect(lockOutputDir(out)).rejects.toThrow(
      /^The file ".*fused-model.lock" \(where the lock beside output-dir goes\) was not written by this action; move it away, or choose another output-dir\.$/
    )
    expect(await fs.readFile(`${out}.lock`, 'utf8')).toBe('my notes')
  })

  it('locks gguf-dir too: two runs with their own output-dir may share it', async () => {
    const config = (await inWorkspace({
      gguf: 'Q8_0',
      'output-dir': 'own-output',
      'gguf-dir': 'shared-gguf'
    })) as Config
    const lock = path.join(workspace, 'shared-gguf.lock')
    await fs.writeFile(lock, lockOf(process.ppid))
    await expect(checkOutputFolders(config)).rejects.toThrow(
      /^Another run of this action \(process \d+ on this machine\) is writing gguf-dir ".*shared-gguf" \(lock file ".*shared-gguf.lock"\); let it finish, or give this run another gguf-dir/
    )
    await fs.rm(lock)
  })
})
