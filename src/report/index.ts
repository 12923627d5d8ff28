/**
 * The report of a run, by audience: the manifest (the public contract), the job summary, the
 * step outputs and the annotations. Artifact rows are src/artifacts' own; budgets src/budget's.
 */
export type { RunReport } from './run-report.js'
export {
  MANIFEST_SCHEMA_VERSION,
  manifestV1,
  writeFailureManifest,
  writeManifest,
  type FailedManifestV1,
  type ManifestAdaptersV1,
  type ManifestAutoCandidateV1,
  type ManifestBaseSourceV1,
  type ManifestExtra,
  type ManifestGgufV1,
  type ManifestOutputV1,
  type ManifestV1
} from './manifest.js'
export { writeFailureSummary, writeSummary } from './summary.js'
export { setOutputs } from './outputs.js'
export { annotate } from './annotations.js'
export { logSizes, sizeLines } from './log-lines.js'
export { sizeBar, verdictBar } from './bar.js'
export { changeFromBase, dtypeMix, percentChange } from './format.js'
export {
  qualityChartPath,
  qualityChartSvg,
  removeEarlierChart,
  writeQualityChart
} from './chart.js'
