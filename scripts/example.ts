/**
 * `npm run example`: runs the bundled action end to end on a generated tiny model and prints the
 * job summary it wrote. Uses the real mlx_lm when python3 imports it (Apple Silicon), otherwise the
 * test stand-in, and says which. With LLAMA_CPP_DIR set it also makes a Q4_K_M GGUF.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..', '..')
const fixtures = path.join(root, 'test', 'fixtures')
const work = path.join(root, 'example-work')
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

const runs = (cmd: string, args: string[]): boolean =>
  spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
const withNumpy = ['/usr/bin/python3', 'python3'].find(p =>
  runs(p, ['-c', 'import numpy, sentencepiece'])
)
if (!withNumpy)
  throw new Error('The tiny model generator needs a python3 with numpy and sentencepiece.')
const realMlx = runs('python3', ['-c', 'import mlx_lm'])
const python = realMlx
  ? 'python3'
  : execFileSync('python3', [
      path.join(fixtures, 'mlx-stand-in', 'make_env.py'),
      '--version',
      '0.32.2',
      '--out',
      path.join(work, 'stand-in')
    ])
      .toString()
      .trim()
console.log(
  realMlx
    ? 'Using the real mlx_lm from python3.'
    : 'mlx_lm is not installed here: using the test stand-in for mlx_lm (not the real thing).'
)

const gen = (args: string[]): void => {
  execFileSync(withNumpy, [path.join(fixtures, 'make_tiny_model.py'), ...args], {
    stdio: 'inherit'
  })
}
gen(['model', path.join(work, 'base-4bit'), '--bits', '4'])
gen(['adapters', path.join(work, 'adapters'), '--model', path.join(work, 'base-4bit')])

const files = path.join(work, 'runner')
mkdirSync(files)
const summary = path.join(files, 'summary.md')
writeFileSync(summary, '')
writeFileSync(path.join(files, 'output'), '')
const inputs: Record<string, string> = {
  'base-model': path.join(work, 'base-4bit'),
  'adapter-path': path.join(work, 'adapters'),
  'output-dir': path.join(work, 'fused-model'),
  python,
  'size-budget': 'mlx=2MB, gguf=1.5MB',
  upload: 'false' // a local run has no Actions artifact service
}
const llama = process.env.LLAMA_CPP_DIR
if (llama && existsSync(llama)) {
  inputs.gguf = 'Q4_K_M'
  inputs['llama-cpp-dir'] = llama
  inputs['convert-python'] =
    process.env.CONVERT_PYTHON ?? path.join(fixtures, 'llama-stand-in', 'python')
  if (!process.env.CONVERT_PYTHON) console.log('Using the test stand-in for convert_hf_to_gguf.py.')
}
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  GITHUB_STEP_SUMMARY: summary,
  GITHUB_OUTPUT: path.join(files, 'output'),
  RUNNER_TEMP: files,
  RUNNER_TOOL_CACHE: path.join(files, 'tool-cache')
}
for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
const result = spawnSync(process.execPath, [path.join(root, 'dist', 'index.js')], {
  env,
  stdio: 'inherit',
  cwd: work
})

const text = readFileSync(summary, 'utf8')
  .replace(/<\/t[dh]>/g, ' | ')
  .replace(/<\/tr>|<\/p>|<\/h2>|<\/li>|<\/summary>/g, '\n')
  .replace(/<br>/g, ' ')
  .replace(/<[^>]+>/g, '')
  .replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&')
console.log(`\n----- job summary (${summary}) -----\n${text}`)
process.exit(result.status ?? 1)
