/**
 * A GGUF scored against the reference by llama.cpp's own `llama-perplexity --kl-divergence-base
 * FILE --kl-divergence` (ggml-org/llama.cpp tag v0.4.0 `tools/perplexity/perplexity.cpp`,
 * `kl_divergence()`): it reads the token ids from the reference file, so every GGUF is scored on
 * the identical tokens, and prints perplexity, mean KL divergence and "Same top p".
 *
 * It reports some faults only as a log line and still exits 0 (a vocabulary of another size, a
 * truncated file), and prints its closing statistics only from 100 scored tokens on; below that the
 * last chunk row (cumulative, fewer decimals) is read.
 */
import path from 'node:path'

import { runStep } from '../core/run.js'
import { ActionError } from '../core/types.js'
import type { QualityFigures } from './types.js'

const NUM = String.raw`(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan|-?inf)`

function finalFigure(text: string, label: RegExp): number | null {
  const m = new RegExp(label.source + String.raw`\s*:\s*` + NUM, 'i').exec(text)
  return m ? Number(m[1]) : null
}

/** The figures llama-perplexity printed in KL divergence mode; null when it printed none. */
export function parseKlDivergence(text: string): Omit<QualityFigures, 'count'> | null {
  const ppl = finalFigure(text, /Mean PPL\(Q\)/)
  const pplBase = finalFigure(text, /Mean PPL\(base\)/)
  const meanKld = finalFigure(text, /Mean\s+KLD/)
  const sameTop = finalFigure(text, /Same top p/)
  if (ppl !== null && pplBase !== null && meanKld !== null && sameTop !== null) {
    return { ppl, pplBase, meanKld, sameTop: sameTop / 100 }
  }
  // chunk  PPL ± u  ln(PPL(Q)/PPL(base)) ± u  KLD ± u  Δp RMS ± u %  same top p ± u %
  const row = new RegExp(
    String.raw`^\s*\d+\s+${NUM}\s*±\s*\S+\s+${NUM}\s*±\s*\S+\s+${NUM}\s*±\s*\S+\s+\S+\s*±\s*\S+\s*%\s+${NUM}\s*±\s*\S+\s*%\s*$`,
    'gim'
  )
  let last: RegExpExecArray | null = null
  for (let m = row.exec(text); m !== null; m = row.exec(text)) last = m
  if (last === null) return null
  const [rowPpl, lnRatio, kld, same] = [last[1], last[2], last[3], last[4]].map(Number)
  return { ppl: rowPpl, pplBase: rowPpl / Math.exp(lnRatio), meanKld: kld, sameTop: same / 100 }
}

/** Scores `gguf` against the reference file (made with `nCtx` tokens per chunk). */
export async function scoreGguf(opts: {
  /** The built llama-perplexity. */
  perplexity: string
  gguf: string
  /**
   * A LoRA-only GGUF applied to `gguf` (gguf-adapter's `lora` output on its `base`): `--lora` is a
   * common argument of every llama.cpp tool (ggml-org/llama.cpp v0.4.0 common/arg.cpp).
   */
  lora?: string
  reference: string
  nCtx: number
  /** Scored tokens the reference holds (count in the figures). */
  scored: number
}): Promise<QualityFigures> {
  const name = path.basename(opts.gguf)
  const result = await runStep({
    title: `Scoring ${name} against the quality reference (llama-perplexity)`,
    tool: 'llama-perplexity',
    bin: opts.perplexity,
    args: [
      ...['-m', path.resolve(opts.gguf), '-c', String(opts.nCtx)],
      ...(opts.lora ? ['--lora', path.resolve(opts.lora)] : []),
      ...['--kl-divergence-base', path.resolve(opts.reference), '--kl-divergence']
    ],
    hint: `check that ${name} loads with this llama.cpp (llama-completion runs it)`
  })
  const text = result.output
  const vocab = /inconsistent vocabulary \((\d+) vs (\d+)\)/.exec(text)
  if (vocab) {
    throw new ActionError({
      problem: `${name} has ${vocab[2]} vocabulary entries and the quality reference ${vocab[1]}, so llama-perplexity cannot compare them: the conversion changed the vocabulary`,
      fix: `convert the fused model again with this llama.cpp`
    })
  }
  const failed =
    /(failed reading [^\n]*|does not look like a file containing log-probabilities|failed to decode)/.exec(
      text
    )
  const figures = failed ? null : parseKlDivergence(text)
  if (figures === null || !Number.isFinite(figures.meanKld) || !Number.isFinite(figures.ppl)) {
    throw new ActionError({
      problem: `llama-perplexity printed no KL divergence for ${name} against ${opts.reference} (${failed ? failed[1] : `last output: ${result.tail.last()}`})`,
      fix: `make the quality reference again, it may be incomplete`
    })
  }
  return { ...figures, count: opts.scored }
}
