/**
 * Start-up of the bundled action with no work: `node dist/index.js` with no inputs, which runs the
 * real entry and stops at once on the missing required input base-model (exit 1, one error line),
 * loading none of the lazily loaded clients (artifact service, Hub, GGUF reader). Measured
 * against `node -e 0` with the same Node (the action's runtime, Node 24), runs interleaved so the
 * load from other processes falls on both alike; the figures are medians.
 *
 * Needs the bundle: `npm run bundle` first.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { formatSize } from '../src/core/size.js'
import { packageRoot } from './gguf-header.js'

const RUNS = 21
const WARM_UPS = 2
const EXPECTED_ERROR = 'Input base-model is required'

/** The process environment without the runner's variables, so the action sees no input at all. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && !k.startsWith('RUNNER_')) env[k] = v
  }
  return env
}

/** Wall time of one run in ms; throws when the action did not stop on the missing input. */
function timeRun(node: string, args: string[], cwd: string, action: boolean): number {
  const start = performance.now()
  const r = spawnSync(node, args, { cwd, env: bareEnv(), encoding: 'utf8' })
  const ms = performance.now() - start
  if (r.error) throw new Error(`Start-up bench: ${node} did not start (${r.error.message}).`)
  if (action && (r.status !== 1 || !r.stdout.includes(EXPECTED_ERROR))) {
    throw new Error(
      `Start-up bench: node dist/index.js with no inputs exited ${r.status} without "${EXPECTED_ERROR}" (stdout ${JSON.stringify(r.stdout.slice(0, 300))}); rebuild it with npm run bundle.`
    )
  }
  return ms
}

/** Peak resident memory of one run, read by the child itself at exit. */
function peakRss(node: string, args: string[], cwd: string): string {
  const atExit =
    'process.on("exit",()=>process.stderr.write("maxrss="+process.resourceUsage().maxRSS+"\\n"))'
  const r = spawnSync(node, ['--import', `data:text/javascript,${atExit}`, ...args], {
    cwd,
    env: bareEnv(),
    encoding: 'utf8'
  })
  const m = /maxrss=(\d+)/.exec(r.stderr)
  return m ? formatSize(Number(m[1]) * 1024) : 'not reported'
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export async function benchStartup(): Promise<void> {
  const root = packageRoot()
  const entry = join(root, 'dist', 'index.js')
  if (!existsSync(entry)) {
    throw new Error(`Start-up bench: ${entry} does not exist; run npm run bundle first.`)
  }
  // plain JavaScript beside the tests, loaded from the source tree (it is not in .tools-build)
  const machine = (await import(
    pathToFileURL(join(root, 'test', 'fixtures', 'machine.js')).href
  )) as typeof import('../test/fixtures/machine.js')
  const node = machine.findNode24()
  const cwd = await mkdtemp(join(tmpdir(), 'bench-startup-'))
  try {
    for (let i = 0; i < WARM_UPS; i++) {
      timeRun(node.path, ['-e', '0'], cwd, false)
      timeRun(node.path, [entry], cwd, true)
    }
    const bare: number[] = []
    const action: number[] = []
    for (let i = 0; i < RUNS; i++) {
      bare.push(timeRun(node.path, ['-e', '0'], cwd, false))
      action.push(timeRun(node.path, [entry], cwd, true))
    }
    const chunks = readdirSync(join(root, 'dist')).filter(f => f.endsWith('.index.js'))
    const lazyBytes = chunks.reduce((sum, f) => sum + statSync(join(root, 'dist', f)).size, 0)
    const ours = median(action)
    const theirs = median(bare)
    console.log(
      `start-up with no work: node dist/index.js with no inputs (stops on base-model), Node ${node.version}`
    )
    console.log(
      `  dist/index.js (entry chunk) ${formatSize(statSync(entry).size)}; ${chunks.length} chunks loaded on demand, ${formatSize(lazyBytes)}`
    )
    const line = (name: string, ms: number[], args: string[]): void =>
      console.log(
        `  ${name.padEnd(22)} median ${median(ms).toFixed(0).padStart(4)} ms  (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)})  peak RSS ${peakRss(node.path, args, cwd)}`
      )
    line('node dist/index.js', action, [entry])
    line('node -e 0', bare, ['-e', '0'])
    console.log(
      `  median of ${RUNS} interleaved runs after ${WARM_UPS} warm-ups: the action takes ${(ours / theirs).toFixed(2)}x node -e 0, ${(ours - theirs).toFixed(0)} ms more (target: at most 350 ms in all)`
    )
  } finally {
    await rm(cwd, { recursive: true, force: true })
  }
}
