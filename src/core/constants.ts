/**
 * The action's input and output names, each written once (as actions/cache keeps its
 * src/constants.ts). action.yml declares the same names; test/core/constants.test.ts checks that the
 * two agree exactly.
 */

export const Inputs = {
  BaseModel: 'base-model',
  AdapterPath: 'adapter-path',
  OutputDir: 'output-dir',
  Dequantize: 'dequantize',
  QuantizeBits: 'quantize-bits',
  QuantizeGroupSize: 'quantize-group-size',
  SizeBudget: 'size-budget',
  OnOverBudget: 'on-over-budget',
  EvalData: 'eval-data',
  EvalTokens: 'eval-tokens',
  QualityBudget: 'quality-budget',
  Python: 'python',
  MlxLmVersion: 'mlx-lm-version',
  Overwrite: 'overwrite',
  TrustRemoteCode: 'trust-remote-code',
  HfToken: 'hf-token',
  Revision: 'revision',
  Gguf: 'gguf',
  LlamaCppDir: 'llama-cpp-dir',
  LlamaCppRef: 'llama-cpp-ref',
  ConvertPython: 'convert-python',
  Imatrix: 'imatrix',
  SmokeTest: 'smoke-test',
  KeepIntermediates: 'keep-intermediates',
  GgufAdapter: 'gguf-adapter',
  CacheToolchain: 'cache-toolchain',
  GgufDir: 'gguf-dir',
  GgufSplit: 'gguf-split',
  Upload: 'upload',
  ArtifactName: 'artifact-name',
  RetentionDays: 'retention-days',
  UploadOverBudget: 'upload-over-budget',
  RemoveAfterUpload: 'remove-after-upload',
  HubRepo: 'hub-repo',
  HubRepoGguf: 'hub-repo-gguf',
  HubPrivate: 'hub-private',
  HubRevision: 'hub-revision',
  BaselineBranch: 'baseline-branch',
  SizeDeltaThreshold: 'size-delta-threshold',
  GithubToken: 'github-token',
  Comment: 'comment'
} as const

export const Outputs = {
  FusedPath: 'fused-path',
  FusedBytes: 'fused-bytes',
  WithinBudget: 'within-budget',
  Manifest: 'manifest',
  Sizes: 'sizes',
  GgufPaths: 'gguf-paths',
  GgufBytes: 'gguf-bytes',
  ArtifactIds: 'artifact-ids',
  ArtifactDigests: 'artifact-digests',
  ArtifactUrl: 'artifact-url',
  HubCommitUrl: 'hub-commit-url',
  BaselineSha: 'baseline-sha',
  Deltas: 'deltas',
  CommentFile: 'comment-file',
  CommentBody: 'comment-body',
  Quality: 'quality'
} as const

export type InputName = (typeof Inputs)[keyof typeof Inputs]
export type OutputName = (typeof Outputs)[keyof typeof Outputs]
