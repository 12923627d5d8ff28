/** Everything a completed run reports: what the summary, outputs, annotations and manifest read. */
import type { Deltas } from '../baseline/deltas.js'
import type { JudgedOutput } from '../budget/index.js'
import type { Command, Diagnosis } from '../core/types.js'
import type { QualitySummary } from '../quality/stage.js'

export interface RunReport {
  baseModel: string
  /** Size of a local base model folder, for the MLX output's change against it; null for a repo id. */
  baseBytes: number | null
  adapterPath: string
  mlxLm: { version: string; python: string; source: string }
  llamaCpp: { version: string; commit: string; dir: string } | null
  /** Every external command that produced an output, as argv. */
  commands: Command[]
  /** Every output with its verdict. */
  outputs: JudgedOutput[]
  diagnoses: Diagnosis[]
  /**
   * Extra plain-text notes (e.g. the GGUF auto choice), shown under the table: `code` spans and
   * further lines (list items) are the only formatting; everything else is escaped.
   */
  notes: string[]
  onOverBudget: 'fail' | 'warn'
  manifestPath: string
  /** The most bytes the run held on disk at once (written and not yet removed), measured. */
  peakDiskBytes: number
  /** Each output's change against the baseline (src/baseline), or null/absent without one. */
  deltas?: Deltas | null
  /** The quality measurements (eval-data): what every output's `quality` was scored on. */
  quality?: QualitySummary | null
  /** The size-against-KL-divergence chart written beside the manifest (with eval-data). */
  qualityChart?: string | null
}
