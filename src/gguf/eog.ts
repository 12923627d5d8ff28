/**
 * The end-of-generation (EOG) token set llama.cpp computes when it loads a GGUF, reproduced from
 * the GGUF's `tokenizer.ggml.*` metadata and token texts.
 *
 * Source: ggml-org/llama.cpp tag v0.4.0 `src/llama-vocab.cpp` (`llama_vocab::impl::load`, the
 * blocks "auto-detect special tokens by text" and "maintain a list of tokens that cause
 * end-of-generation", with its gpt-oss/solar-open and gemma4/paddleocr exceptions).
 */

/** Texts that make a token the end-of-turn token when `tokenizer.ggml.eot_token_id` is absent. */
const EOT_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>'
])
const EOM_TEXTS = new Set(['<|eom_id|>'])
const FIM_PAD_TEXTS = new Set(['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'])
const FIM_REP_TEXTS = new Set([
  '<|fim_repo|>',
  '<|repo_name|>',
  '<fim-repo>',
  '<REPO>',
  '<reponame>'
])
const FIM_SEP_TEXTS = new Set(['<|file_sep|>'])

/** Texts that are always end-of-generation. */
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~['
])

export interface EogInput {
  /** `tokenizer.ggml.tokens`. */
  tokens: readonly string[]
  /** The GGUF metadata (only `tokenizer.ggml.*_token_id` keys are read). */
  metadata: Readonly<Record<string, unknown>>
}

function idKey(metadata: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const v = metadata[`tokenizer.ggml.${name}_token_id`]
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  if (typeof v === 'bigint' && v >= 0n) return Number(v)
  return undefined
}

/**
 * llama.cpp iterates `token_to_id`, a std::map ordered by the token text's bytes; the first
 * match wins where a single id is detected by text.
 */
function byText(tokens: readonly string[]): Array<[string, number]> {
  const seen = new Map<string, number>()
  tokens.forEach((t, i) => seen.set(t, i))
  return [...seen.entries()].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
}

/** The ids llama.cpp treats as end-of-generation, ascending. */
export function eogTokenIds({ tokens, metadata }: EogInput): number[] {
  const sorted = byText(tokens)
  const detect = (name: string, texts: Set<string>): number | undefined => {
    const fromKey = idKey(metadata, name)
    if (fromKey !== undefined) return fromKey
    return sorted.find(([t]) => texts.has(t))?.[1]
  }
  const eos = idKey(metadata, 'eos')
  const eot = detect('eot', EOT_TEXTS)
  const eom = detect('eom', EOM_TEXTS)
  const fim = [
    detect('fim_pad', FIM_PAD_TEXTS),
    detect('fim_rep', FIM_REP_TEXTS),
    detect('fim_sep', FIM_SEP_TEXTS)
  ]
  const eog = new Set<number>()
  for (const id of fim) if (id !== undefined) eog.add(id)
  for (const [text, id] of sorted) if (EOG_TEXTS.has(text)) eog.add(id)
  for (const id of [eos, eot, eom]) if (id !== undefined) eog.add(id)

  const textOf = (id: number): string | undefined => tokens[id]
  const idsWith = (text: string): number[] => [...eog].filter(id => textOf(id) === text)
  const has = (text: string): boolean => idsWith(text).length > 0
  // gpt-oss / solar-open: "<|end|>" is not EOG when "<|return|>" and "<|call|>" (or
  // "<|calls|>" and "<|flush|>") are.
  const hasCall = has('<|call|>') || has('<|calls|>')
  if (
    (has('<|return|>') && hasCall && has('<|end|>')) ||
    (hasCall && has('<|flush|>') && has('<|end|>'))
  ) {
    for (const id of idsWith('<|end|>')) eog.delete(id)
  }
  // gemma4 / paddleocr: "</s>" is not EOG when "<|tool_response>" is.
  if (has('<|tool_response>')) for (const id of idsWith('</s>')) eog.delete(id)
  return [...eog].filter(id => id < tokens.length).sort((a, b) => a - b)
}
