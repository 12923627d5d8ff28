/**
 * Files and folders the action did not make, through the whole run with the mlx_lm stand-in: each
 * case runs in a throw-away workspace with a fake $HOME and proves every file that was there
 * before is still there, byte for byte. The guard logic itself is unit-tested in core/folders.test.ts;
 * these are the cases that need the whole run to show. run() runs in-process
 * (fixtures/in-process.ts), except where only a process shows it: another user (the permission
 * cases), two runs at once (the lock), and the harness itself, which spawn dist/index.js.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { DIST, runAction, type ActionRun } from './fixtures/action.js'
import { runInProcess } from './fixtures/in-process.js'
import { removeStaged, runtimeFor } from './fixtures/as-user.js'
import { changedEntries, snapshotTree } from './fixtures/snapshot.js'
import { makeTinySetup, SYSTEM_PYTHON } from './fixtures/tiny.js'
import { expectValidManifest, readValidManifest } from './fixtures/manifest.js'

/**
 * Permissions do not bind root: as root, the permission cases run the action as `nobody`, with a
 * Node, bundle and python that user can reach (as-user.ts); as any other user (a CI runner, a
 * laptop), as that user. When `nobody` cannot reach the temporary folder, they are skipped, and
 * their names say why.
 */
const AS_ROOT = process.getuid?.() === 0
const NOBODY = 65534
const nobody = AS_ROOT ? runtimeFor(NOBODY, [SYSTEM_PYTHON]) : null
const user = nobody && 'node' in nobody ? { uid: NOBODY, runtime: nobody } : {}
const permissionCase =
  nobody && 'reason' in nobody
    ? (name: string, fn: () => Promise<void>) => it.skip(`${name} (skipped: ${nobody.reason})`, fn)
    : it
let root: string
let base: string
let adapters: string
let python: string

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('e2e-folders', {
    base: { bits: 4, groupSize: 64 },
    adapters: { rank: 4, scale: 10 },
    python: { python: SYSTEM_PYTHON }
  }))
  await fs.chmod(root, 0o755) // the cases run as another user read the fixtures too
})
afterAll(removeStaged)

/** A checked-out repository as the workspace, and a home folder with a key in it. */
async function scene(): Promise<{ workspace: string; home: string; env: Record<string, string> }> {
  const dir = await fs.mkdtemp(path.join(root, 'scene-'))
  const workspace = path.join(dir, 'repo')
  const home = path.join(dir, 'home')
  await fs.mkdir(path.join(workspace, 'src'), { recursive: true })
  await fs.writeFile(path.join(workspace, 'src', 'train.py'), 'print("train")\n')
  await fs.writeFile(path.join(workspace, 'README.md'), '# my model\n')
  execFileSync('git', ['init', '-q', workspace])
  await fs.mkdir(path.join(home, '.ssh'), { recursive: true })
  await fs.writeFile(path.join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY\n', { mode: 0o600 })
  return { workspace, home, env: { HOME: home, GITHUB_WORKSPACE: workspace } }
}

const inputs = { 'base-model': '', 'adapter-path': '', python: '' }
const withFixtures = (more: Record<string, string>): Record<string, string> => ({
  ...inputs,
  'base-model': base,
  'adapter-path': adapters,
  python,
  ...more
})

function expectRefused(run: ActionRun, message: RegExp): void {
  expect(run.code).toBe(1)
  const errors = run.annotations.filter(a => a.startsWith('::error'))
  expect(errors).toHaveLength(1)
  expect(errors[0]).toMatch(message)
  expect(run.stdout).not.toContain('Unexpected error')
  expect(run.outputs['within-budget']).toBeUndefined()
}

describe('overwrite: true never empties what the action did not make', () => {
  it('refuses output-dir "." (the workspace, a git repository)', async () => {
    const { workspace, home, env } = await scene()
    const before = await snapshotTree(path.dirname(workspace))
    const run = await runInProcess(withFixtures({ 'output-dir': '.', overwrite: 'true' }), {
      cwd: workspace,
      env
    })
    expectRefused(run, /output-dir ".*repo" is or contains the workspace .*a new folder/)
    expect(changedEntries(before, await snapshotTree(path.dirname(workspace)))).toEqual([])
    expect(await fs.readdir(home)).toEqual(['.ssh'])
  })

  it('refuses output-dir = $HOME', async () => {
    const { workspace, home, env } = await scene()
    const before = await snapshotTree(path.dirname(workspace))
    const run = await runInProcess(withFixtures({ 'output-dir': home, overwrite: 'true' }), {
      cwd: workspace,
      env
    })
    expectRefused(run, /output-dir ".*home" is or contains the home folder/)
    expect(changedEntries(before, await snapshotTree(path.dirname(workspace)))).toEqual([])
  })

  it('refuses a non-empty folder no manifest of this action names, even with overwrite', async () => {
    const { workspace, env } = await scene()
    const out = path.join(workspace, 'models')
    await fs.mkdir(out)
    await fs.writeFile(path.join(out, 'mine.safetensors'), 'my own model')
    const before = await snapshotTree(path.dirname(workspace))
    const run = await runInProcess(withFixtures({ 'output-dir': 'models', overwrite: 'true' }), {
      cwd: workspace,
      env
    })
    expectRefused(
      run,
      /output-dir ".*models" already holds 1 entries that this action did not make/
    )
    expect(changedEntries(before, await snapshotTree(path.dirname(workspace)))).toEqual([])
  })

  it('replaces a folder a release-1 manifest names, and a failed rerun leaves a failure manifest', async () => {
    const { workspace, env } = await scene()
    const out = path.join(workspace, 'fused-model')
    await fs.mkdir(out)
    await fs.writeFile(path.join(out, 'model.safetensors'), 'an earlier fuse')
    const legacy = {
      schemaVersion: 1,
      generator: 'mlx-fuse-action',
      withinBudget: true,
      outputs: [{ name: 'mlx', kind: 'mlx', path: out, bytes: 15, status: 'within' }]
    }
    await fs.writeFile(`${out}.manifest.json`, JSON.stringify(legacy))
    const refused = await runInProcess(withFixtures({}), { cwd: workspace, env })
    expectRefused(
      refused,
      /already holds 1 entries from an earlier run of this action; set overwrite: true/
    )

    const failed = await runInProcess(withFixtures({ overwrite: 'true', 'size-budget': '5MB' }), {
      cwd: workspace,
      env: { ...env, MLX_STANDIN_FAIL: 'fuse' }
    })
    expect(failed.code).toBe(3)
    const manifest = await readValidManifest(`${out}.manifest.json`)
    expect(manifest).toMatchObject({
      generator: 'mlx-fuse-action',
      status: 'failed',
      withinBudget: false,
      outputs: [],
      folders: { outputDir: out }
    })
    expect(manifest.error).toMatch(/mlx_lm fuse failed with exit code 3/)
    expect(await fs.readdir(out)).toEqual([])

    // The failure manifest still names the folder: the next run may use it again.
    await fs.writeFile(path.join(out, 'partial'), 'x')
    const again = await runInProcess(withFixtures({ overwrite: 'true', 'size-budget': '5MB' }), {
      cwd: workspace,
      env
    })
    expect(again.code).toBe(0)
    expect(again.outputs['within-budget']).toBe('true')
    const fresh = await readValidManifest(`${out}.manifest.json`)
    expect(fresh).toMatchObject({ status: 'complete', withinBudget: true })
    expect(fresh.folders).toEqual({ outputDir: out, ggufDir: null, intermediates: null })
    expect(await fs.readdir(out)).not.toContain('partial')
  })
})

describe('faults in the file system end in one sentence', () => {
  it('output-dir under a path that is a file', async () => {
    const { workspace, env } = await scene()
    const run = await runInProcess(withFixtures({ 'output-dir': 'README.md/fused' }), {
      cwd: workspace,
      env
    })
    expectRefused(run, /output-dir ".*README.md\/fused" lies under ".*README.md", which is a file/)
  })

  it('a folder where the manifest file goes', async () => {
    const { workspace, env } = await scene()
    await fs.mkdir(path.join(workspace, 'fused-model.manifest.json'))
    const before = await snapshotTree(workspace)
    const run = await runInProcess(withFixtures({}), { cwd: workspace, env })
    expectRefused(run, /manifest ".*fused-model.manifest.json" .* is a folder; move it away/)
    expect(await snapshotTree(workspace)).toEqual(before) // nothing was made either
  })

  it('an unwritable job summary fails the run before any verdict output', async () => {
    const { workspace, env } = await scene()
    const summary = path.join(workspace, 'no-such-folder', 'summary.md')
    const run = await runInProcess(withFixtures({ 'size-budget': '5MB' }), {
      cwd: workspace,
      env: { ...env, GITHUB_STEP_SUMMARY: summary }
    })
    expectRefused(run, /Could not write the job summary to GITHUB_STEP_SUMMARY ".*summary.md"/)
    const manifest = await readValidManifest(path.join(workspace, 'fused-model.manifest.json'))
    expect(manifest).toMatchObject({ status: 'failed', withinBudget: false })
  })

  it('an unwritable step output file is a sentence too, and within-budget is never set', async () => {
    const { workspace, env } = await scene()
    const run = await runInProcess(withFixtures({ 'size-budget': '5MB' }), {
      cwd: workspace,
      env: { ...env, GITHUB_OUTPUT: path.join(workspace, 'no-such-folder', 'output') }
    })
    expectRefused(
      run,
      /Could not write the step outputs to GITHUB_OUTPUT ".*no-such-folder\/output"/
    )
    const manifest = await readValidManifest(path.join(workspace, 'fused-model.manifest.json'))
    expect(manifest).toMatchObject({ status: 'failed', withinBudget: false })
  })

  permissionCase(
    'output-dir in a folder this user cannot write (spawns dist/index.js)',
    async () => {
      const { workspace, env } = await scene()
      await fs.chmod(path.dirname(workspace), 0o755)
      const locked = path.join(workspace, 'read-only')
      await fs.mkdir(locked)
      await fs.chmod(locked, 0o555)
      const run = await runAction(withFixtures({ 'output-dir': 'read-only/fused' }), {
        cwd: workspace,
        env,
        ...user
      })
      expectRefused(
        run,
        /output-dir ".*read-only\/fused" cannot be created: ".*read-only" is not writable/
      )
    }
  )

  permissionCase(
    'an unreadable folder in the fuse output: the real error, and no staging folder left (spawns dist/index.js)',
    async () => {
      const { workspace, env } = await scene()
      await fs.chmod(path.dirname(workspace), 0o755)
      if (AS_ROOT) await fs.chown(workspace, NOBODY, NOBODY)
      // A python that runs the stand-in, then leaves a folder without permissions in --save-path.
      const wrapper = path.join(path.dirname(workspace), 'python-locked')
      await fs.writeFile(
        wrapper,
        `#!/bin/sh\n"${python}" "$@"; rc=$?\nprev=\nfor a in "$@"; do\n  if [ "$prev" = --save-path ]; then mkdir -p "$a/locked/deep"; echo x > "$a/locked/deep/f"; chmod 000 "$a/locked"; fi\n  prev="$a"\ndone\nexit $rc\n`,
        { mode: 0o755 }
      )
      const run = await runAction(withFixtures({ python: wrapper }), {
        cwd: workspace,
        env,
        ...user
      })
      expectRefused(
        run,
        /Cannot read the directory .*\.fused-model\..* \(EACCES\), so the output cannot be measured/
      )
      expect((await fs.readdir(workspace)).sort()).toEqual([
        '.git',
        'README.md',
        'fused-model.manifest.json',
        'src'
      ])
    }
  )
})

describe('the harness', () => {
  it('fails a test at once when the Node it runs cannot start (spawns dist/index.js)', async () => {
    const { workspace, env } = await scene()
    const notNode = path.join(workspace, 'README.md') // no execute bit: spawn fails with EACCES
    await expect(
      runAction(withFixtures({}), { cwd: workspace, env, runtime: { node: notNode, dist: DIST } })
    ).rejects.toThrow(/^Could not start .*README\.md .*index\.js: spawn .*README\.md EACCES$/)
  })
})

/**
 * A python that runs the stand-in, except that `mlx_lm fuse` (the call with --save-path) first
 * touches `<gate>.started` and waits until `<gate>.go` exists: a fuse that is "still running"
 * for exactly as long as a test needs, without a clock.
 */
async function gatedPython(dir: string, gate: string): Promise<string> {
  const wrapper = path.join(dir, 'python-gated')
  await fs.writeFile(
    wrapper,
    `#!/bin/sh\nfor a in "$@"; do\n  if [ "$a" = --save-path ]; then\n    : > '${gate}.started'\n    while [ ! -e '${gate}.go' ]; do sleep 0.05; done\n  fi\ndone\nexec "${python}" "$@"\n`,
    { mode: 0o755 }
  )
  return wrapper
}

async function until(file: string): Promise<void> {
  while (!(await fs.stat(file).catch(() => null))) await new Promise(r => setTimeout(r, 50))
}

describe('issue 14: hostile output folders', () => {
  it('overwrite: true on an output-dir that is now a link to another folder empties nothing', async () => {
    const { workspace, env } = await scene()
    const first = await runInProcess(withFixtures({ 'size-budget': '5MB' }), {
      cwd: workspace,
      env
    })
    expect(first.code).toBe(0)
    // Someone replaces the fused folder with a link to their own folder; the manifest stays.
    const out = path.join(workspace, 'fused-model')
    const victim = path.join(path.dirname(workspace), 'victim')
    await fs.mkdir(victim)
    await fs.writeFile(path.join(victim, 'thesis.tex'), 'years of work')
    await fs.rm(out, { recursive: true })
    await fs.symlink(victim, out)
    const before = await snapshotTree(path.dirname(workspace))
    const run = await runInProcess(withFixtures({ overwrite: 'true' }), { cwd: workspace, env })
    expectRefused(
      run,
      /Input output-dir ".*fused-model" is a symbolic link \(to ".*victim"\); .*point output-dir at a real folder path/
    )
    expect(changedEntries(before, await snapshotTree(path.dirname(workspace)))).toEqual([])
  }, 120_000)

  it('a second run on the same output-dir is refused while the first runs, and leaves its manifest alone (spawns dist/index.js)', async () => {
    const { workspace, env } = await scene()
    const gate = path.join(path.dirname(workspace), 'gate')
    const slow = await gatedPython(path.dirname(workspace), gate)
    const first = runAction(withFixtures({ python: slow, 'size-budget': '5MB' }), {
      cwd: workspace,
      env
    })
    await until(`${gate}.started`)
    const manifest = path.join(workspace, 'fused-model.manifest.json')
    const during = await fs.readFile(manifest, 'utf8')
    expectValidManifest(JSON.parse(during)) // the unfinished run's manifest says "failed"
    const second = await runAction(withFixtures({ overwrite: 'true', 'size-budget': '5MB' }), {
      cwd: workspace,
      env
    }).finally(() => fs.writeFile(`${gate}.go`, '')) // the first run goes on, whatever happened
    expectRefused(
      second,
      /^::error::Another run of this action \(process \d+ on this machine\) is writing output-dir ".*fused-model" \(lock file ".*fused-model.lock"\); let it finish, or give this run another output-dir/
    )
    expect(await fs.readFile(manifest, 'utf8')).toBe(during)
    const done = await first
    expect(done.code).toBe(0)
    expect(done.outputs['within-budget']).toBe('true')
    expect(await readValidManifest(manifest)).toMatchObject({ status: 'complete' })
    // The lock went with the first run's process.
    expect((await fs.readdir(workspace)).sort()).toEqual([
      '.git',
      'README.md',
      'fused-model',
      'fused-model.manifest.json',
      'src'
    ])
  }, 120_000)
})
