/**
 * Python launched safely (issue 14, "Running Python in a checkout"): `python -m X` and `python -c`
 * put the working directory first on sys.path, so a pull request could add `mlx_lm/`, `pip/` or
 * `venv/` to the checkout and have the action run it. Every launch runs in a folder the action
 * owns, with absolute paths, and `-P` on Python 3.11+.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  absoluteInterpreter,
  forgetInterpreterVersions,
  probePython,
  pythonWorkDir
} from '../../src/core/python.js'
import { runAction } from '../fixtures/action.js'
import { startPackageIndex, type PackageIndex } from '../fixtures/pypi-index.js'
import { buildStandInWheel, FIXTURES_DIR } from '../fixtures/tiny.js'

let root: string
let index: PackageIndex

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'python-launch-')))
  index = await startPackageIndex([await buildStandInWheel(path.join(root, 'wheel'), '0.32.2')])
})
afterAll(async () => index.close())

/** A fake interpreter answering the version query with `version`, logging its cwd and argv. */
async function fakePython(version: string): Promise<{ python: string; log: string }> {
  const dir = await fs.mkdtemp(path.join(root, 'fake-'))
  const log = path.join(dir, 'calls.log')
  const python = path.join(dir, 'python')
  await fs.writeFile(python, `#!/bin/sh\necho "$PWD|$*" >> '${log}'\necho ${version}\n`, {
    mode: 0o755
  })
  return { python, log }
}

describe('launching Python', () => {
  it('runs in an empty folder the action owns, with -P from Python 3.11 on', async () => {
    forgetInterpreterVersions()
    const owned = pythonWorkDir()
    expect(owned).not.toBe(process.cwd())
    expect(await fs.readdir(owned)).toEqual([])
    expect((await fs.stat(owned)).mode & 0o077).toBe(0) // nobody else can plant files in it

    const new311 = await fakePython('3.11.0')
    await probePython(new311.python, ['-m', 'mlx_lm', 'fuse', '--help'])
    await probePython(new311.python, ['/abs/convert_hf_to_gguf.py', '--help'])
    const calls311 = (await fs.readFile(new311.log, 'utf8')).trim().split('\n')
    expect(calls311).toEqual([
      `${owned}|-c import sys; print("%d.%d.%d" % sys.version_info[:3])`,
      `${owned}|-P -m mlx_lm fuse --help`,
      // a script's own folder leads sys.path, never the working directory: no -P (the converter
      // imports its conversion package from its folder)
      `${owned}|/abs/convert_hf_to_gguf.py --help`
    ])

    const old310 = await fakePython('3.10.14')
    await probePython(old310.python, ['-m', 'pip', '--version'])
    const calls310 = (await fs.readFile(old310.log, 'utf8')).trim().split('\n')
    expect(calls310[1]).toBe(`${owned}|-m pip --version`)
  })

  it('makes a relative interpreter path absolute, and leaves a command name to PATH', () => {
    expect(absoluteInterpreter('.venv/bin/python', '/srv/checkout')).toBe(
      '/srv/checkout/.venv/bin/python'
    )
    expect(absoluteInterpreter('python3', '/srv/checkout')).toBe('python3')
  })
})

describe('a checkout that holds mlx_lm/, pip/ and venv/ folders', () => {
  it('never runs them: the run makes its environment and fuses without importing them', async () => {
    const checkout = await fs.mkdtemp(path.join(root, 'checkout-'))
    const markers = path.join(root, 'markers')
    await fs.mkdir(markers)
    // Each planted package writes a marker the moment Python imports it, then behaves as absent.
    for (const name of ['mlx_lm', 'pip', 'venv']) {
      await fs.mkdir(path.join(checkout, name))
      await fs.writeFile(
        path.join(checkout, name, '__init__.py'),
        `open(${JSON.stringify(path.join(markers, name))}, 'w').write('imported from the checkout')\n` +
          `open(${JSON.stringify(path.join(checkout, `SHADOWED-${name}`))}, 'w').write('')\n`
      )
    }
    const example = path.join(FIXTURES_DIR, 'example-model')
    const run = await runAction(
      {
        'base-model': path.join(example, 'base-4bit'),
        'adapter-path': path.join(example, 'adapters')
      },
      {
        cwd: checkout,
        // python3 on PATH has no mlx_lm: the action makes its environment with pip (venv, pip,
        // probes and fuse all launched), from the loopback index's stand-in mlx-lm
        env: { PIP_INDEX_URL: `${index.url}/simple/`, PIP_CONFIG_FILE: '/dev/null' }
      }
    )
    expect(await fs.readdir(markers)).toEqual([])
    expect((await fs.readdir(checkout)).filter(f => f.startsWith('SHADOWED-'))).toEqual([])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Creating a Python environment with')
  })
})
