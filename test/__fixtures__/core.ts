/**
 * A stand-in for @actions/core, in actions/typescript-action's __fixtures__/core.ts style: every
 * function the action calls is a jest.fn, inputs come from `inputs`, outputs land in `outputs`
 * and the job summary in `summary.text`, so run() is tested in-process, without a runner.
 * Use: jest.unstable_mockModule('@actions/core', () => core) before importing src/main.js.
 */
import type * as actionsCore from '@actions/core'
import { jest } from '@jest/globals'

export const inputs: Record<string, string> = {}
export const outputs: Record<string, string> = {}

export const getInput = jest.fn<typeof actionsCore.getInput>((name, options) => {
  const value = inputs[name] ?? ''
  if (options?.required && value === '') throw new Error(`Input required and not supplied: ${name}`)
  return options?.trimWhitespace === false ? value : value.trim()
})
export const setOutput = jest.fn<typeof actionsCore.setOutput>((name, value) => {
  outputs[name] = String(value)
})
export const setFailed = jest.fn<typeof actionsCore.setFailed>()
export const setSecret = jest.fn<typeof actionsCore.setSecret>()
export const debug = jest.fn<typeof actionsCore.debug>()
export const info = jest.fn<typeof actionsCore.info>()
export const notice = jest.fn<typeof actionsCore.notice>()
export const warning = jest.fn<typeof actionsCore.warning>()
export const error = jest.fn<typeof actionsCore.error>()
/** @actions/cache asks before it lists an archive (a debug-only step). */
export const isDebug = jest.fn<typeof actionsCore.isDebug>(() => false)
export const group = jest.fn(async <T>(_name: string, fn: () => Promise<T>): Promise<T> => fn())

/** The chainable summary API the action uses, collected as text. */
class Summary {
  text = ''
  private buffer = ''
  addHeading(text: string): this {
    this.buffer += `<h2>${text}</h2>\n`
    return this
  }
  addRaw(text: string, addEol = false): this {
    this.buffer += addEol ? `${text}\n` : text
    return this
  }
  addTable(rows: Array<Array<string | { data: string }>>): this {
    for (const row of rows)
      this.buffer += `${row.map(c => (typeof c === 'string' ? c : c.data)).join(' | ')}\n`
    return this
  }
  addDetails(label: string, content: string): this {
    this.buffer += `<details><summary>${label}</summary>${content}</details>\n`
    return this
  }
  async write(): Promise<this> {
    this.text += this.buffer
    this.buffer = ''
    return this
  }
  emptyBuffer(): this {
    this.buffer = ''
    return this
  }
}
export const summary = new Summary()

/** Clears inputs, outputs, the summary and every mock's calls, between tests. */
export function reset(): void {
  for (const key of Object.keys(inputs)) delete inputs[key]
  for (const key of Object.keys(outputs)) delete outputs[key]
  summary.text = ''
  summary.emptyBuffer()
  for (const fn of [
    getInput,
    setOutput,
    setFailed,
    setSecret,
    debug,
    info,
    notice,
    warning,
    error,
    group
  ])
    fn.mockClear()
}
