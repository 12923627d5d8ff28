import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import {
  CONVERT_REQUIREMENTS,
  CONVERT_TORCH,
  filteredRequirements,
  findInterpreters,
  resolveConvertPython
} from '../../src/gguf/convert-env.js'
import { READY_MARKER } from '../../src/core/venv.js'
import { startPackageIndex, type PackageIndex } from '../fixtures/pypi-index.js'
import { buildStandInWheel } from '../fixtures/tiny.js'

let root: string
let index: PackageIndex
/** The real interpreter behind python3 here, and its version. */
let realPython: string
let realVersion: string

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'convert-env-'))
  index = await startPackageIndex([
    await buildStandInWheel(path.join(root, 'wheel'), '0.32.2'),
    // what the environment installs first; a wheel named as torch, not torch
    await emptyWheel(path.join(root, 'wheel'), 'torch', CONVERT_TORCH.split('==')[1])
  ])
  // pip here reads only the loopback index (the machine's pip config is set aside).
  for (const k of Object.keys(process.env)) if (k.startsWith('PIP_')) delete process.env[k]
  process.env.PIP_CONFIG_FILE = '/dev/null'
  process.env.PIP_INDEX_URL = `${index.url}/simple/`
  const out = execFileSync('python3', [
    '-c',
    'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'
  ])
  ;[realPython, realVersion] = out.toString().trim().split('\n')
})
afterAll(async () => index.close())

/** `dir/NAME-VERSION-py3-none-any.whl`: an installable wheel holding an empty package NAME. */
async function emptyWheel(dir: string, name: string, version: string): Promise<string> {
  const script = [
    'import base64, hashlib, sys, zipfile',
    'out, name, version = sys.argv[1:]',
    'info = f"{name}-{version}.dist-info"',
    'files = {f"{name}/__init__.py": b"", f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode(),',
    '         f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}',
    'def digest(b): return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()',
    'record = "".join(f"{p},{digest(b)},{len(b)}\\n" for p, b in files.items()) + f"{info}/RECORD,,\\n"',
    'path = f"{out}/{name}-{version}-py3-none-any.whl"',
    'with zipfile.ZipFile(path, "w") as z:',
    '    for p, b in files.items(): z.writestr(p, b)',
    '    z.writestr(f"{info}/RECORD", record)',
    'print(path)'
  ].join('\n')
  await fs.mkdir(dir, { recursive: true })
  return execFileSync('python3', ['-c', script, dir, name, version]).toString().trim()
}

/** The environment folder resolveConvertPython made: `<root>/mlx-fuse-action/python-envs/convert-<commit>-py<version>-<key>`. */
const envFolder = (venvRoot: string, commit: string, version: string): RegExp =>
  new RegExp(
    `^${path.join(venvRoot, 'mlx-fuse-action', 'python-envs', `convert-${commit.slice(0, 12)}-py${version}`).replace(/[.]/g, '\\.')}-[0-9a-f]{12}$`
  )

describe('resolveConvertPython', () => {
  it("creates a venv from the checkout's requirements once, then reuses it", async () => {
    // A checkout whose convert requirements name a package the loopback index serves.
    const llamaDir = path.join(root, 'llama.cpp')
    await fs.mkdir(path.join(llamaDir, 'requirements'), { recursive: true })
    await fs.writeFile(path.join(llamaDir, CONVERT_REQUIREMENTS), 'mlx-lm==0.32.2\n')
    const venvRoot = path.join(root, 'tool-cache')
    const python = await resolveConvertPython({
      convertPython: null,
      llamaDir,
      commit: 'abcdef0123456789',
      venvRoot,
      candidates: ['python3']
    })
    expect(path.dirname(path.dirname(python))).toMatch(
      envFolder(venvRoot, 'abcdef0123456789', realVersion)
    )
    expect(path.basename(python)).toBe('python')
    const installed = await fs.readdir(path.join(path.dirname(path.dirname(python)), 'lib'), {
      recursive: true
    })
    expect(installed.some(p => String(p).endsWith('mlx_lm-0.32.2.dist-info'))).toBe(true)
    expect(installed.some(p => String(p).endsWith('torch-2.13.0.dist-info'))).toBe(true)
    expect(installed.some(p => /^nvidia[-_]/i.test(path.basename(String(p))))).toBe(false)
    const wheelRequests = index.requests.filter(r => r.endsWith('.whl')).length
    expect(
      await resolveConvertPython({
        convertPython: null,
        llamaDir,
        commit: 'abcdef0123456789',
        venvRoot,
        candidates: ['python3']
      })
    ).toBe(python)
    expect(index.requests.filter(r => r.endsWith('.whl')).length).toBe(wheelRequests)
  })

  it('checks a given convert-python runs, and refuses a checkout without requirements', async () => {
    expect(
      await resolveConvertPython({ convertPython: 'python3', llamaDir: root, commit: 'x' })
    ).toBe('python3')
    // a relative path is made absolute: Python runs in a folder the action owns
    expect(
      await resolveConvertPython({
        convertPython: path.relative(process.cwd(), realPython),
        llamaDir: root,
        commit: 'x'
      })
    ).toBe(realPython)
    await expect(
      resolveConvertPython({
        convertPython: path.join(root, 'no-python'),
        llamaDir: root,
        commit: 'x'
      })
    ).rejects.toThrow(
      /Input convert-python ".*no-python" does not answer as a Python interpreter does/
    )
    await expect(
      resolveConvertPython({ convertPython: null, llamaDir: root, commit: 'x' })
    ).rejects.toThrow(
      /has no requirements\/requirements-convert_hf_to_gguf\.txt; set convert-python/
    )
  })
})

/**
 * Interpreter stand-ins: each answers the version query with its own version and pip's dry run
 * as the real pip would for llama.cpp v0.4.0's pins (numpy~=1.26.4 has no wheels for 3.13+), logs
 * how it was called, and hands everything else (venv creation) to the real interpreter.
 */
async function standIns(dir: string, versions: Record<string, string | null>): Promise<string> {
  await fs.mkdir(dir, { recursive: true })
  const log = path.join(dir, 'calls.log')
  for (const [name, version] of Object.entries(versions)) {
    const script =
      version === null
        ? `#!/bin/sh\necho "pyenv: ${name}: command not found" >&2\nexit 127\n`
        : [
            '#!/bin/sh',
            `echo "${name} $*" >> '${log}'`,
            'if [ "$1" = "-P" ]; then shift; fi',
            'if [ "$1" = "-c" ]; then',
            `  echo ${version}; exit 0`,
            'fi',
            'if [ "$1 $2 $3 $4" = "-m pip install --dry-run" ]; then',
            `  case "${version}" in 3.1[3-9].*)`,
            '    echo "ERROR: Could not find a version that satisfies the requirement numpy~=1.26.4" >&2',
            '    echo "ERROR: No matching distribution found for numpy~=1.26.4" >&2; exit 1;;',
            '  esac',
            '  echo "{}"; exit 0',
            'fi',
            `exec '${realPython}' "$@"`,
            ''
          ].join('\n')
    await fs.writeFile(path.join(dir, name), script, { mode: 0o755 })
  }
  return log
}

async function checkout(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'requirements'), { recursive: true })
  await fs.writeFile(path.join(dir, CONVERT_REQUIREMENTS), 'mlx-lm==0.32.2\n')
  return dir
}

const calls = async (log: string): Promise<string[]> =>
  (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean)

describe('choosing the interpreter for the convert environment', () => {
  it('takes 3.12 when python3 is 3.13 and pip cannot install the pins there', async () => {
    const bin = path.join(root, 'bin-313-312')
    const log = await standIns(bin, {
      'python3.13': '3.13.0',
      'python3.12': '3.12.1',
      'python3.11': null,
      python3: '3.13.0'
    })
    const candidates = ['python3.13', 'python3.12', 'python3.11', 'python3'].map(n =>
      path.join(bin, n)
    )
    // One per version, newest first; the failing shim is not an interpreter.
    expect(await findInterpreters(candidates)).toEqual([
      { command: candidates[0], version: '3.13.0' },
      { command: candidates[1], version: '3.12.1' }
    ])
    const llamaDir = await checkout(path.join(root, 'llama-313'))
    const venvRoot = path.join(root, 'cache-313')
    const opts = { convertPython: null, llamaDir, commit: 'feedface00112233', venvRoot, candidates }
    const python = await resolveConvertPython(opts)
    const envDir = path.dirname(path.dirname(python))
    expect(envDir).toMatch(envFolder(venvRoot, 'feedface00112233', '3.12.1'))
    const first = await calls(log)
    // pip was asked for 3.13 first and refused; 3.12 resolved and made the environment.
    const dryRuns = first.filter(l => l.includes('pip install --dry-run'))
    expect(dryRuns.map(l => l.split(' ')[0])).toEqual(['python3.13', 'python3.12'])
    expect(dryRuns[0]).toContain('--only-binary=:all:')
    // torch 2.13.0 first, then the checkout's requirements as arguments (the filtered copy)
    expect(dryRuns[0]).toMatch(/ torch==2\.13\.0 mlx-lm==0\.32\.2$/)
    // Python 3.11+ gets -P (the working directory off sys.path) on every -m and -c launch
    expect(dryRuns.every(l => l.split(' ')[1] === '-P')).toBe(true)
    expect(first).toContain(`python3.12 -P -m venv ${envDir}`)
    expect(first.some(l => /^python3\.13 (-P )?-m venv/.test(l))).toBe(false)
    await expect(fs.stat(path.join(envDir, READY_MARKER))).resolves.toBeTruthy()

    // The next run reuses it without asking pip again.
    expect(await resolveConvertPython(opts)).toBe(python)
    const again = (await calls(log)).slice(first.length)
    expect(again.some(l => l.includes('pip'))).toBe(false)
  })

  it('fails before any work when only 3.13 is there, naming what it found and the fix', async () => {
    const bin = path.join(root, 'bin-313')
    const log = await standIns(bin, { 'python3.13': '3.13.0', python3: '3.13.0' })
    const llamaDir = await checkout(path.join(root, 'llama-only-313'))
    const venvRoot = path.join(root, 'cache-only-313')
    await expect(
      resolveConvertPython({
        convertPython: null,
        llamaDir,
        commit: 'feedface00112233',
        venvRoot,
        candidates: [path.join(bin, 'python3.13'), path.join(bin, 'python3')]
      })
    ).rejects.toThrow(
      new RegExp(
        `No Python here can install llama.cpp's requirements/requirements-convert_hf_to_gguf.txt from wheels \\(found ${bin}/python3.13 3.13.0 \\(pip: ERROR: No matching distribution found for numpy~=1.26.4\\)\\); install Python 3.12 \\(macOS: brew install python@3.12.*or set convert-python`
      )
    )
    expect((await calls(log)).some(l => l.includes('-m venv'))).toBe(false)
    await expect(fs.stat(venvRoot)).rejects.toThrow(/ENOENT/)
  })

  it('says so when no Python 3 answers at all', async () => {
    const bin = path.join(root, 'bin-none')
    await standIns(bin, { python3: null })
    await expect(
      resolveConvertPython({
        convertPython: null,
        llamaDir: await checkout(path.join(root, 'llama-none')),
        commit: 'x',
        candidates: [path.join(bin, 'python3'), path.join(bin, 'python3.12')]
      })
    ).rejects.toThrow(/\(found no Python 3 on PATH\); install Python 3\.12/)
  })

  it('uses convert-python when set, without looking for others', async () => {
    const bin = path.join(root, 'bin-input')
    const log = await standIns(bin, { 'python3.13': '3.13.0', 'python3.12': '3.12.1' })
    const chosen = path.join(bin, 'python3.13')
    expect(
      await resolveConvertPython({
        convertPython: chosen,
        llamaDir: await checkout(path.join(root, 'llama-input')),
        commit: 'x',
        candidates: [path.join(bin, 'python3.12')]
      })
    ).toBe(chosen)
    expect(await calls(log)).toEqual([
      `python3.13 -c import sys; print("%d.%d.%d" % sys.version_info[:3])`
    ])
  })

  it('reads the version from standard output, whatever the interpreter warns on stderr', async () => {
    const noisy = path.join(root, 'noisy-python')
    await fs.writeFile(noisy, '#!/bin/sh\necho 3.12.4\necho "warning: something" >&2\n', {
      mode: 0o755
    })
    expect(await findInterpreters([noisy])).toEqual([{ command: noisy, version: '3.12.4' }])
  })

  it('refuses a convert-python that runs but is not Python', async () => {
    await expect(
      resolveConvertPython({ convertPython: '/bin/true', llamaDir: root, commit: 'x' })
    ).rejects.toThrow(
      /Input convert-python "\/bin\/true" does not answer as a Python interpreter does/
    )
  })
})

describe("the filtered copy of the checkout's convert requirements", () => {
  it('inlines included files and drops the torch pin and the index options', async () => {
    const dir = path.join(root, 'req', 'requirements')
    await fs.mkdir(dir, { recursive: true })
    // the shape of ggml-org/llama.cpp v0.4.0 requirements/requirements-convert_hf_to_gguf.txt
    await fs.writeFile(
      path.join(dir, 'requirements-convert_hf_to_gguf.txt'),
      [
        '-r ./requirements-convert_legacy_llama.txt',
        '--extra-index-url https://download.pytorch.org/whl/cpu',
        '',
        '## a comment',
        'torch==2.11.0',
        'Torch_Vision==0.26.0 # kept: not torch',
        ''
      ].join('\n')
    )
    await fs.writeFile(
      path.join(dir, 'requirements-convert_legacy_llama.txt'),
      'numpy~=1.26.4\nsentencepiece>=0.1.98,<0.3.0\ntransformers==4.57.6\n'
    )
    expect(await filteredRequirements(path.join(dir, 'requirements-convert_hf_to_gguf.txt'))).toBe(
      [
        'numpy~=1.26.4',
        'sentencepiece>=0.1.98,<0.3.0',
        'transformers==4.57.6',
        'Torch_Vision==0.26.0'
      ].join('\n')
    )
  })

  it("keeps every requirement of the real checkout's file except torch", async () => {
    const llama = process.env.LLAMA_CPP_DIR
    if (!llama) throw new Error('LLAMA_CPP_DIR is set by the global set-up')
    const text = await filteredRequirements(path.join(llama, CONVERT_REQUIREMENTS))
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^numpy/),
        expect.stringMatching(/^transformers==/)
      ])
    )
    expect(text).not.toMatch(/^torch\b|^-/m)
  })
})
