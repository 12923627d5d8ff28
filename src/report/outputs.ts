/** The step outputs of a completed run. */
import * as core from '@actions/core'
import { setDeltaOutputs } from '../baseline/deltas.js'
import { withinBudget } from '../budget/index.js'
import { Outputs } from '../core/constants.js'
import { ActionError } from '../core/types.js'
import type { RunReport } from './run-report.js'

/** Sets the step outputs, within-budget last: a write failure leaves it unset. */
export function setOutputs(report: RunReport): void {
  try {
    setEachOutput(report)
  } catch (error) {
    throw new ActionError({
      problem: `Could not write the step outputs to GITHUB_OUTPUT "${process.env.GITHUB_OUTPUT ?? ''}" (${(error as Error).message})`,
      fix: `check the runner's file for step outputs, then run again`
    })
  }
}

function setEachOutput(report: RunReport): void {
  const mlx = report.outputs.find(o => o.kind === 'mlx')
  const ggufs = report.outputs.filter(o => o.kind === 'gguf')
  if (mlx) {
    core.setOutput(Outputs.FusedPath, mlx.path)
    core.setOutput(Outputs.FusedBytes, String(mlx.bytes))
  }
  core.setOutput(Outputs.Manifest, report.manifestPath)
  core.setOutput(
    Outputs.Sizes,
    JSON.stringify(Object.fromEntries(report.outputs.map(o => [o.name, o.bytes])))
  )
  core.setOutput(
    Outputs.GgufPaths,
    JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.path])))
  )
  core.setOutput(
    Outputs.GgufBytes,
    JSON.stringify(Object.fromEntries(ggufs.map(o => [o.name, o.bytes])))
  )
  if (report.deltas) setDeltaOutputs(report.deltas)
  core.setOutput(Outputs.WithinBudget, String(withinBudget(report.outputs)))
}
