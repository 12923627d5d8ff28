/**
 * The run's configuration as readInputs returns it, and the action's fixed defaults: the types
 * every stage reads, without the input parser (gguf/ and mlx/ import this, never inputs.ts).
 * Read-only: no check or stage changes it (what the plan resolves, it returns in the plan).
 */
import os from 'node:os'
import path from 'node:path'
import type { BudgetEntry, GrowthEntry, QualityBudgetEntry } from './types.js'

export const DEFAULT_MLX_LM_VERSION = '0.32.2'
export const DEFAULT_LLAMA_CPP_REF = 'v0.4.0'
export const LLAMA_CPP_REPO = 'https://github.com/ggml-org/llama.cpp'
/**
 * Group sizes MLX's affine quantization accepts: ml-explore/mlx v0.32.1, mlx/ops.cpp,
 * affine_quantize ("The supported group sizes are 32, 64, and 128").
 */
export const QUANTIZE_GROUP_SIZES = [32, 64, 128]
/**
 * Where the action keeps what it makes once per machine (Python environments, llama.cpp clones):
 * the runner's tool cache (RUNNER_TOOL_CACHE), else ~/.cache.
 */
export function toolCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_TOOL_CACHE ?? path.join(os.homedir(), '.cache')
}

/** Every folder the action keeps once per machine, all under one folder of the tool cache. */
export interface ToolPaths {
  /** `<tool cache>/mlx-fuse-action`: everything below is the action's own. */
  readonly actionDir: string
  /** The Python environments (src/core/venv.ts). */
  readonly pythonEnvs: string
  /** The llama.cpp clone of `ref` (src/gguf/toolchain.ts). */
  llamaCppClone(ref: string): string
}

/** The one place the action's tool paths are derived, from the tool-cache root. */
export function toolPaths(root: string = toolCacheRoot()): ToolPaths {
  const actionDir = path.join(root, 'mlx-fuse-action')
  return {
    actionDir,
    pythonEnvs: path.join(actionDir, 'python-envs'),
    llamaCppClone: ref => path.join(actionDir, 'llama.cpp', ref)
  }
}

export interface GgufConfig {
  /** Upper-case type names as written (checked against llama-quantize later), or empty with auto. */
  readonly types: readonly string[]
  readonly auto: boolean
  readonly llamaCppDir: string | null
  readonly llamaCppRef: string
  readonly convertPython: string | null
  readonly imatrix: string | null
  readonly smokeTest: boolean
  readonly keepIntermediates: boolean
  /** `cache-toolchain`: restore and save a cloned llama.cpp's build through the Actions cache. */
  readonly cacheToolchain: boolean
  /** Absolute directory for the GGUF files. */
  readonly dir: string
  /** File name stem: the artifact-name prefix (default `<basename of output-dir>`). */
  readonly stem: string
  /** gguf-split in bytes: GGUF files larger than this are split into shards; null: no split. */
  readonly split: number | null
  /** `gguf-adapter`: a LoRA-only GGUF of the adapters, with the base's own GGUF to apply it to. */
  readonly adapter: boolean
}

export interface Config {
  readonly baseModel: string
  /** Absolute path when base-model is a local directory, else null (a Hugging Face repo id). */
  readonly baseModelDir: string | null
  readonly adapterPath: string
  readonly outputDir: string
  readonly manifestPath: string
  readonly dequantize: boolean
  readonly quantizeBits: number | null
  readonly quantizeGroupSize: number
  readonly budgets: ReadonlyArray<Readonly<BudgetEntry>>
  /** Growth limits of `size-budget` (`TARGET=+5%`), judged against the baseline. */
  readonly growthBudgets: ReadonlyArray<Readonly<GrowthEntry>>
  /** quality-budget entries (only with eval-data). */
  readonly qualityBudgets: ReadonlyArray<Readonly<QualityBudgetEntry>>
  readonly onOverBudget: 'fail' | 'warn'
  readonly python: string | null
  readonly mlxLmVersion: string
  readonly overwrite: boolean
  readonly hfToken: string | null
  /** Input revision: the branch, tag or commit of a repo-id base (null: its default branch). */
  readonly revision: string | null
  readonly trustRemoteCode: boolean
  readonly gguf: GgufConfig | null
  readonly upload: UploadConfig
  /** Publishing to the Hugging Face Hub, or null without hub-repo (hub-publish/inputs.ts). */
  readonly hub: HubPublishConfig | null
  readonly baseline: BaselineConfig
  readonly comment: CommentConfig
  /** The quality measurements (eval-data), or null without eval-data. */
  readonly quality: QualityConfig | null
  /** `cache-toolchain`: the action's environments (and the GGUF path's llama.cpp build) through the Actions cache. */
  readonly cacheToolchain: boolean
}

/** The pull-request comment (src/comment): input `comment`, the token and the artifact name. */
export interface CommentConfig {
  /** `auto`: post on pull_request events; `true`: also say when there is no pull request. */
  readonly mode: 'auto' | 'true' | 'false'
  readonly token: string
  /** The artifact-name prefix: its marker finds this name's earlier comment. */
  readonly artifactName: string
}

/** `eval-data` and `eval-tokens` (inputs.ts): what the quality measurements read. */
export interface QualityConfig {
  /** The eval data as named (absolute): a text file, a JSONL dataset file or a dataset folder. */
  readonly evalData: string
  /** At most this many tokens are evaluated (whole chunks). */
  readonly evalTokens: number
}

/** Where the outputs go on the Hugging Face Hub (hub-publish/inputs.ts). */
export interface HubPublishConfig {
  /** `hub-repo`: the model repository for the MLX model (and the GGUF files without hub-repo-gguf). */
  readonly repo: string
  /** `hub-repo-gguf`: the repository for the GGUF files; null puts them in `repo`. */
  readonly ggufRepo: string | null
  /** `hub-private`: a repository the run creates is private. */
  readonly private: boolean
  /** `hub-revision`: the branch to commit to, created from main when missing. */
  readonly revision: string
}

/** The upload inputs, parsed by artifacts/inputs.ts. */
export interface UploadConfig {
  /** `upload`: false keeps every output on the runner's disk only. */
  readonly upload: boolean
  /** `artifact-name`: the prefix of every artifact name; default the basename of output-dir. */
  readonly prefix: string
  /** `retention-days`: 1-400, or null for the repository's default. */
  readonly retentionDays: number | null
  /** `upload-over-budget`: publish an output that is over its budget anyway. */
  readonly uploadOverBudget: boolean
  /** `remove-after-upload`: delete the uploaded outputs from the runner's disk afterwards. */
  readonly removeAfterUpload: boolean
}

/** The baseline inputs, parsed by baseline/inputs.ts. */
export interface BaselineConfig {
  /** `baseline-branch`: the branch whose pushes save baselines; null: the repository's default. */
  readonly branch: string | null
  /** `size-delta-threshold`: a change smaller than this reads "no change"; null: any change shows. */
  readonly threshold: DeltaThreshold | null
  /** `github-token`: for the compare API (the merge base); empty outside a workflow. */
  readonly token: string
  /** The artifact-name prefix: baselines are kept per artifact name. */
  readonly name: string
}

/** `0.5%` (of the baseline's size) or `1MB`, as written. */
export type DeltaThreshold =
  | { kind: 'percent'; percent: number; text: string }
  | { kind: 'bytes'; bytes: number; text: string }
