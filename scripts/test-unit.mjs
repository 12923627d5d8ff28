// npm run test:unit: jest with jest.unit.config.js (the files that start no real tool), leaving
// out by name the cases that spawn dist/index.js or run pip, on every core; then its wall time,
// from before jest starts until it ends (global set-up included). Extra arguments go to jest.
import { spawn } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.join(import.meta.dirname, '..')
/** Test names that end in one of these tags start a process the fast run does not. */
const SKIPPED_TAGS = ['(spawns dist/index.js)', '(runs pip)']
const escape = text => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const NAME_PATTERN = `^(?!.*(${SKIPPED_TAGS.map(escape).join('|')}))`

const started = process.hrtime.bigint()
const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js')
const child = spawn(
  process.execPath,
  [
    jest,
    '--config',
    path.join(ROOT, 'jest.unit.config.js'),
    '--maxWorkers',
    String(os.availableParallelism()),
    '--testNamePattern',
    NAME_PATTERN,
    ...process.argv.slice(2)
  ],
  {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' }
  }
)
child.on('close', (code, signal) => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const load = os.loadavg()[0].toFixed(2)
  process.stderr.write(
    `npm run test:unit: ${seconds.toFixed(1)} s wall time on ${os.availableParallelism()} cores (load average ${load} at the end)\n`
  )
  process.exitCode = code ?? 128 + (os.constants.signals[signal] ?? 0)
})
