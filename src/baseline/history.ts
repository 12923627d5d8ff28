/**
 * The baseline file: the manifest a completed run on the baseline branch wrote, its outputs'
 * sizes, and the sizes of the last {@link HISTORY_LENGTH} baselines (this one last), so one
 * restore also gives the trend (the cache cannot list its entries).
 */

export const HISTORY_LENGTH = 20
export const BASELINE_SCHEMA_VERSION = 1 as const

export interface HistoryPoint {
  commit: string
  createdAt: string
  /** Output name (`mlx`, `Q4_K_M`, ...) to bytes. */
  sizes: Record<string, number>
}

export interface BaselineFile {
  schemaVersion: typeof BASELINE_SCHEMA_VERSION
  generator: 'mlx-fuse-action baseline'
  artifactName: string
  branch: string
  commit: string
  createdAt: string
  sizes: Record<string, number>
  /** Oldest first; the last point is this baseline. */
  history: HistoryPoint[]
  /** The run's manifest as written (schemaVersion 1, status complete). */
  manifest: unknown
}

/** The part of a manifest a baseline reads. */
interface CompleteManifest {
  status: 'complete'
  createdAt: string
  outputs: Array<{ name: string; bytes: number }>
}

/** Whether a manifest's text is a completed run's (whatever its verdict); null when it is not. */
export function completeManifest(text: string): CompleteManifest | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  const m = value as Partial<CompleteManifest> | null
  if (m?.status !== 'complete' || !Array.isArray(m.outputs)) return null
  if (!m.outputs.every(o => typeof o?.name === 'string' && isBytes(o.bytes))) return null
  return m as CompleteManifest
}

/** The baseline a run saves: its manifest, and the previous baseline's history with this run last. */
export function nextBaseline(
  manifestText: string,
  where: { artifactName: string; branch: string; commit: string },
  previous: BaselineFile | null
): BaselineFile | null {
  const manifest = completeManifest(manifestText)
  if (!manifest) return null
  const sizes = Object.fromEntries(manifest.outputs.map(o => [o.name, o.bytes]))
  const point: HistoryPoint = { commit: where.commit, createdAt: manifest.createdAt, sizes }
  const earlier = (previous?.history ?? []).filter(p => p.commit !== where.commit)
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    generator: 'mlx-fuse-action baseline',
    ...where,
    createdAt: manifest.createdAt,
    sizes,
    history: [...earlier, point].slice(-HISTORY_LENGTH),
    manifest: JSON.parse(manifestText) as unknown
  }
}

/** Reads a restored baseline; throws an Error saying what is wrong with it. */
export function parseBaseline(text: string): BaselineFile {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`it is not JSON (${(error as Error).message})`)
  }
  const b = value as Partial<BaselineFile> | null
  if (b?.schemaVersion !== BASELINE_SCHEMA_VERSION || b.generator !== 'mlx-fuse-action baseline') {
    throw new Error('it is not a baseline this action wrote (schemaVersion 1)')
  }
  if (typeof b.commit !== 'string' || typeof b.branch !== 'string' || !isSizes(b.sizes)) {
    throw new Error('its commit, branch or sizes are missing')
  }
  if (
    !Array.isArray(b.history) ||
    b.history.length > HISTORY_LENGTH ||
    !b.history.every(p => typeof p?.commit === 'string' && isSizes(p.sizes))
  ) {
    throw new Error(`its history is not a list of at most ${HISTORY_LENGTH} sizes`)
  }
  return b as BaselineFile
}

function isBytes(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function isSizes(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && Object.values(v).every(isBytes)
}
