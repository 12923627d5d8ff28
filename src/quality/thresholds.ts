/**
 * What the quality measurements count as faithful, and why. Every figure is a mean over the scored
 * tokens of the eval data (llama-perplexity's chunking: the second half of each context-sized
 * chunk), against the one reference: base + adapters as mlx_lm loads them.
 */

/**
 * Mean KL divergence (nats per token) under which a 16-bit GGUF (F16/BF16) counts as a faithful
 * conversion. The reference file keeps each log-probability as a 16-bit integer (with a scale per
 * row), and that rounding alone costs about 5e-4 on llama.cpp's own table for an 8B model
 * (ggml-org/llama.cpp tag v0.4.0 `tools/perplexity/README.md`, "LLaMA 3 8b Scoreboard": the f16
 * row, KLD 0.000551, "the difference resulting only from this downcast"). A conversion that keeps
 * every weight's value lands at or below that (a tiny llama measured 1.6e-5 for F16, 6.7e-5 for
 * Q8_0); a wrong tensor, a different tokenizer or a mis-mapped weight lands orders of magnitude
 * above it, so above it the conversion changed the model and the report names the first token
 * whose id differs between the tokenizers.
 */
export const CONVERSION_KLD_THRESHOLD = 5e-4

/**
 * The default of `eval-tokens`: the tokens scored per run bound the cost (one MLX forward pass of
 * the reference, one of each MLX output and one llama-perplexity pass per GGUF) and the reference
 * file's size, which grows as tokens × vocabulary (see referenceFileBytes).
 */
export const DEFAULT_EVAL_TOKENS = 4096

/** llama-perplexity's own default context (`params.n_ctx = 512` in `llama_perplexity`). */
export const DEFAULT_EVAL_CONTEXT = 512

/**
 * The smallest context the chunking allows: llama-perplexity scores positions n_ctx/2 … n_ctx-2
 * of each chunk, so 4 is the least that scores anything at all.
 */
export const MIN_EVAL_CONTEXT = 4
