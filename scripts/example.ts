/**
 * `npm run example`: runs the bundled action end to end on the tiny example model committed in
 * test/fixtures/example-model (a 4-bit base with its tokenizer and LoRA adapters; `npm run
 * example-model` regenerates it) and prints the job summary it wrote. Needs only Node, npm and a
 * python3 >= 3.10: it uses the real mlx_lm when python3 imports it (Apple Silicon), otherwise the
 * pure-Python test stand-in, and says which. With LLAMA_CPP_DIR set it also makes a Q4_K_M GGUF.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..', '..')
const fixtures = path.join(root, 'test', 'fixtures')
const model = path.join(fixtures, 'example-model')
const work = path.join(root, 'example-work')

/** One sentence with the fix when python3 is missing or older than 3.10 (the stand-in's floor). */
function checkPython(): void {
  const probe = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8'
  })
  const version = probe.status === 0 ? probe.stdout.trim() : null
  const [major, minor] = (version ?? '0.0').split('.').map(Number)
  if (major > 3 || (major === 3 && minor >= 10)) return
  console.error(
    `npm run example needs python3 3.10 or newer on PATH (${version === null ? 'found none' : `found ${version}`}): ` +
      'on Debian or Ubuntu run `sudo apt-get install -y python3`, on macOS run `brew install python@3.12`.'
  )
  process.exit(1)
}

checkPython()
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

const realMlx = spawnSync('python3', ['-c', 'import mlx_lm'], { stdio: 'ignore' }).status === 0
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

const files = path.join(work, 'runner')
mkdirSync(files)
const summary = path.join(files, 'summary.md')
writeFileSync(summary, '')
writeFileSync(path.join(files, 'output'), '')
const inputs: Record<string, string> = {
  'base-model': path.join(model, 'base-4bit'),
  'adapter-path': path.join(model, 'adapters'),
  'output-dir': path.join(work, 'fused-model'),
  python,
  'size-budget': 'mlx=2MB',
  upload: 'false' // a local run has no Actions artifact service
}
const llama = process.env.LLAMA_CPP_DIR
if (llama && existsSync(llama)) {
  inputs.gguf = 'Q4_K_M'
  inputs['size-budget'] += ', gguf=1.5MB'
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
