/**
 * src/core/constants.ts names every input and output once; action.yml is the public contract.
 * The two must agree exactly, and the code must read inputs and set outputs only through them.
 */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { Inputs, Outputs } from '../../src/core/constants.js'

const ROOT = path.resolve(import.meta.dirname, '..', '..')

interface ActionYml {
  inputs: Record<string, unknown>
  outputs: Record<string, unknown>
}

async function sources(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => path.join(e.parentPath, e.name))
}

describe('the constants module and action.yml', () => {
  it('declares exactly the inputs and outputs of action.yml, each once', async () => {
    const action = parse(await fs.readFile(path.join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    const inputs = Object.values(Inputs)
    const outputs = Object.values(Outputs)
    expect(new Set(inputs).size).toBe(inputs.length)
    expect(new Set(outputs).size).toBe(outputs.length)
    expect([...inputs].sort()).toEqual(Object.keys(action.inputs).sort())
    expect([...outputs].sort()).toEqual(Object.keys(action.outputs).sort())
  })

  it('is the only place src/ spells an input or output name for getInput and setOutput', async () => {
    const literal = /\b(getInput|getBooleanInput|getMultilineInput|setOutput)\(\s*['"`]/
    const offenders: string[] = []
    for (const file of await sources(path.join(ROOT, 'src'))) {
      const text = await fs.readFile(file, 'utf8')
      text.split('\n').forEach((line, i) => {
        if (literal.test(line))
          offenders.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(offenders).toEqual([])
  })
})
