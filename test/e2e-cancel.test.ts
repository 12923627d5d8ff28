/**
 * Issue 14: cancelling the job. The runner signals only the action's process, SIGINT first, then
 * SIGTERM (actions/runner commit 0acefcf19943, src/Runner.Sdk/ProcessInvoker.cs,
 * CancelAndKillProcessTree). Before, node died at once: the fuse ran on as an orphan, its
 * full-size staging folder stayed in the workspace, the log ended inside an open stop-commands
 * block and no manifest or summary said why.
 * Here the bundled dist/index.js is signalled while a stand-in fuse that started a child of its
 * own is running.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { runAction } from './fixtures/action.js'
import { makeTinySetup, SYSTEM_PYTHON } from './fixtures/tiny.js'
import { readValidManifest } from './fixtures/manifest.js'

let root: string
let base: string
let adapters: string
let python: string

beforeAll(async () => {
  ;({ root, base, adapters, python } = await makeTinySetup('e2e-cancel', {
    base: { bits: 4, groupSize: 64 },
    adapters: { rank: 4 },
    python: { python: SYSTEM_PYTHON }
  }))
}, 120_000)

/**
 * A python whose `mlx_lm fuse` (the call with --save-path) writes a partial model into the
 * staging folder, starts a long `sleep` (a child of its own, as a tool's workers are), records
 * that child's pid, touches `<dir>/started` and waits. Every other call runs the stand-in.
 */
async function hangingFuse(dir: string): Promise<string> {
  const wrapper = path.join(dir, 'python-hangs')
  await fs.writeFile(
    wrapper,
    `#!/bin/sh\nprev=\nfor a in "$@"; do\n  if [ "$prev" = --save-path ]; then\n    head -c 1000000 /dev/zero > "$a/model.safetensors"\n    echo "[hangs] fusing into $a"\n    sleep 600 &\n    echo $! > '${dir}/worker.pid'\n    : > '${dir}/started'\n    wait\n    exit 0\n  fi\n  prev="$a"\ndone\nexec "${python}" "$@"\n`,
    { mode: 0o755 }
  )
  return wrapper
}

/** True while the process runs (a zombie waiting for its parent to reap it has stopped). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

async function until(file: string): Promise<void> {
  while (!(await fs.stat(file).catch(() => null))) await new Promise(r => setTimeout(r, 50))
}

describe('a cancelled job', () => {
  it.each([
    // SIGINT is what the runner sends first; a shell's background job ignores it, so the
    // action's kill after the grace period is what stops the worker.
    ['SIGINT', 130],
    ['SIGTERM', 143]
  ] as const)(
    '%s: the tool and its children stop, staging is removed, the fence closes, manifest and summary say why',
    async (signal, code) => {
      const dir = await fs.mkdtemp(path.join(root, `${signal}-`))
      const workspace = path.join(dir, 'work')
      await fs.mkdir(workspace)
      const wrapper = await hangingFuse(dir)
      let worker = 0
      const run = await runAction(
        { 'base-model': base, 'adapter-path': adapters, python: wrapper, 'size-budget': '5MB' },
        {
          cwd: workspace,
          onStart: child => {
            void until(path.join(dir, 'started')).then(() => {
              worker = Number(readFileSync(path.join(dir, 'worker.pid'), 'utf8'))
              child.kill(signal)
            })
          }
        }
      )
      const orphan = worker > 0 && running(worker)
      if (orphan) process.kill(worker, 'SIGKILL') // never leave it behind, whatever the result
      expect(orphan).toBe(false)
      expect(worker).toBeGreaterThan(0)
      expect(run.code).toBe(code)
      // The fence was closed: the error after it is a command the runner acts on.
      const errors = run.commands.filter(c => c.command === 'error').map(c => c.data)
      expect(errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^The job was cancelled \\(the runner sent ${signal}\\) while mlx_lm fuse ran: it was stopped, its partial output removed, and nothing was measured or uploaded; run the job again`
          )
        )
      ])
      expect(run.outputs['within-budget']).toBeUndefined()
      // No staging folder (nor anything else) is left but the manifest that says what happened.
      expect(await fs.readdir(workspace)).toEqual(['fused-model.manifest.json'])
      const manifest = await readValidManifest(path.join(workspace, 'fused-model.manifest.json'))
      expect(manifest).toMatchObject({ status: 'failed', withinBudget: false, outputs: [] })
      expect(manifest.error).toMatch(/^The job was cancelled/)
      expect(run.summary).toMatch(/❌ Failed:<\/b> The job was cancelled/)
    },
    120_000
  )
})
