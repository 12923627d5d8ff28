/** What the upload step did: the one record the upload fills and the summary and outputs read. */

/** One artifact the upload made. */
export interface PublishedArtifact {
  name: string
  /** The output it carries (`mlx`, a GGUF type), or `checksums`. */
  output: string
  id: number
  /** `sha256:<hex>` of the bytes uploaded (the zip's for a zipped artifact). */
  digest: string
  /** `<server>/<repo>/actions/runs/<run id>/artifacts/<id>`. */
  url: string
  /** Bytes uploaded. */
  bytes: number
  seconds: number
}

/** What reached the artifact service. */
export interface ArtifactOutcome {
  /**
   * `disabled`: upload is false; `ghes`: GitHub Enterprise Server, nothing uploaded; `failed`: an
   * upload failed (`error` says why, `artifacts` what was published before it).
   */
  status: 'uploaded' | 'disabled' | 'ghes' | 'failed'
  artifacts: PublishedArtifact[]
  /** Outputs not published, and why. */
  held: Array<{ output: string; reason: string }>
  /** Paths deleted by remove-after-upload. */
  removed: string[]
  /** On a re-run: earlier attempts' artifacts of the names this attempt uploaded (it supersedes them). */
  superseded: Array<{ name: string; id: number }>
  /** The upload error, when status is failed. */
  error?: string
}
