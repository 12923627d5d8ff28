/** The figures of one output scored against the reference (MLX by the helper, GGUF by llama-perplexity). */
export interface QualityFigures {
  /** Perplexity of the output on the scored tokens. */
  ppl: number
  /** Perplexity of the reference on the same tokens (from the reference file's stored log-probabilities). */
  pplBase: number
  /** Mean KL divergence from the reference to the output, nats per scored token. */
  meanKld: number
  /** Share (0…1) of scored tokens where both give the same most likely token. */
  sameTop: number
  /** Scored tokens: (ctx − 1 − ctx/2) per chunk. */
  count: number
}
