/** The annotations of a completed run: one per output over budget, one per finding. */
import * as core from '@actions/core'
import { overBudgetMessage, qualityCheckMessage } from '../budget/index.js'
import { redact } from '../core/redact.js'
import type { RunReport } from './run-report.js'

export function annotate(report: RunReport): void {
  for (const output of report.outputs) {
    const v = output.verdict
    if (v.status !== 'over') continue
    // The error says why in a few words; the warning of the same output says it in full.
    const why = report.diagnoses.find(d => d.level === 'warning' && d.output === output.name)
    const message = `${overBudgetMessage(output, v)}.${why ? ` ${why.title}.` : ''}`
    const props = { title: 'Size budget exceeded' }
    if (report.onOverBudget === 'fail') core.error(redact(message), props)
    else core.warning(redact(message), props)
  }
  for (const output of report.outputs) {
    for (const check of output.qualityVerdict?.checks ?? []) {
      if (check.pass) continue
      const message = `${qualityCheckMessage(output.name, check)}.`
      const props = { title: 'Quality budget exceeded' }
      if (report.onOverBudget === 'fail') core.error(redact(message), props)
      else core.warning(redact(message), props)
    }
  }
  for (const d of report.diagnoses) {
    const props = { title: redact(d.title) }
    if (d.level === 'warning') core.warning(redact(d.text), props)
    else core.notice(redact(d.text), props)
  }
}
