/** The interpreter for convert_hf_to_gguf.py: the convert-python input, or a venv of its own. */
import * as core from '@actions/core'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { lastLine, probe, runTool } from '../run.js'
import { ActionError } from '../types.js'
import * as log from '../log.js'

export const CONVERT_REQUIREMENTS = path.join('requirements', 'requirements-convert_hf_to_gguf.txt')

/**
 * Returns `convertPython` when set (it must run), else a virtual environment made from the
 * checkout's own requirements, kept apart from mlx-lm's (their transformers pins conflict) and
 * reused while the checkout's commit is the same.
 */
export async function resolveConvertPython(opts: {
  convertPython: string | null
  llamaDir: string
  commit: string
  venvRoot?: string
}): Promise<string> {
  if (opts.convertPython) {
    const r = await probe(opts.convertPython, ['-c', 'import sys; print(sys.version)'])
    if (r.code !== 0) {
      throw new ActionError(
        `Input convert-python "${opts.convertPython}" does not run (${lastLine(r.out)}); point it at a Python that has llama.cpp's ${CONVERT_REQUIREMENTS}, or leave it empty.`
      )
    }
    return opts.convertPython
  }
  const requirements = path.join(opts.llamaDir, CONVERT_REQUIREMENTS)
  if (!(await fs.stat(requirements).catch(() => null))) {
    throw new ActionError(
      `The llama.cpp checkout ${opts.llamaDir} has no ${CONVERT_REQUIREMENTS}; set convert-python to an interpreter that can run convert_hf_to_gguf.py.`
    )
  }
  const base = opts.venvRoot ?? process.env.RUNNER_TOOL_CACHE ?? path.join(os.homedir(), '.cache')
  const dir = path.join(base, 'mlx-fuse-action', `convert-${opts.commit.slice(0, 12)}`)
  const python = path.join(dir, 'bin', 'python')
  const marker = path.join(dir, '.requirements-installed')
  if (await fs.stat(marker).catch(() => null)) {
    log.info(`Reusing the convert environment ${dir}.`)
    return python
  }
  await core.group(
    `Creating the convert environment in ${dir} from ${CONVERT_REQUIREMENTS}`,
    async () => {
      await fs.rm(dir, { recursive: true, force: true })
      for (const [cmd, args, what] of [
        ['python3', ['-m', 'venv', dir], 'Creating the convert environment'],
        [
          python,
          ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', requirements],
          `Installing ${CONVERT_REQUIREMENTS}`
        ]
      ] as const) {
        const r = await runTool(cmd, [...args], { cwd: opts.llamaDir })
        if (r.code !== 0) {
          throw new ActionError(
            `${what} failed with exit code ${r.code} (${r.tail.last(3)}); set convert-python to an interpreter that has those requirements.`
          )
        }
      }
      await fs.writeFile(marker, `${new Date().toISOString()}\n`)
    }
  )
  return python
}
