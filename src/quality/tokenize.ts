/**
 * Where the GGUF's tokenizer parts from the MLX one: `llama-tokenize` (ggml-org/llama.cpp tag v0.4.0
 * `tools/tokenize/tokenize.cpp`: the file read verbatim, `--no-escape` so a backslash stays one,
 * special tokens parsed, BOS added as the GGUF says unless `--no-bos`) on each document the reference
 * used, compared with the ids the MLX tokenizer gave. Asked when a 16-bit GGUF diverges from the
 * reference, to name the first token whose id differs.
 */
import path from 'node:path'

import { runStep } from '../core/run.js'
import { writeScratchFile } from '../core/scratch.js'
import { ActionError } from '../core/types.js'
import type { TokenizedDocument } from './reference.js'

export interface TokenDifference {
  /** 1-based document of the eval data. */
  document: number
  /** 0-based position of the first differing id in that document. */
  position: number
  /** The MLX tokenizer's id there (null: it ended first). */
  mlx: number | null
  /** The GGUF's id there (null: it ended first). */
  gguf: number | null
}

/** The id list `llama-tokenize --ids` prints: `[1, 2, 3]`. */
export function parseIds(stdout: string): number[] | null {
  const m = /\[([\d,\s]*)\]\s*$/.exec(stdout.trim())
  if (!m) return null
  return m[1].trim() === '' ? [] : m[1].split(',').map(s => Number(s.trim()))
}

/** The first position where two id lists differ, or null when they are equal. */
export function firstDifference(a: readonly number[], b: readonly number[]): number | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i
  return null
}

/**
 * The first token id that differs between the MLX tokenization of the documents and the GGUF's,
 * or null when every document tokenizes the same. `workDir` is a folder the caller owns.
 */
export async function firstTokenDifference(opts: {
  /** The built llama-tokenize. */
  tokenize: string
  gguf: string
  documents: readonly TokenizedDocument[]
  workDir: string
}): Promise<TokenDifference | null> {
  for (const [i, doc] of opts.documents.entries()) {
    const file = path.join(opts.workDir, `tokenize-${i + 1}.txt`)
    await writeScratchFile(file, doc.text)
    const result = await runStep({
      tool: 'llama-tokenize',
      bin: opts.tokenize,
      args: [
        ...['-m', path.resolve(opts.gguf), '-f', file, '--ids', '--log-disable', '--no-escape'],
        ...(doc.addSpecial ? [] : ['--no-bos'])
      ],
      silent: true,
      hint: `check that ${path.basename(opts.gguf)} loads with this llama.cpp`
    })
    const ids = parseIds(result.stdout)
    if (ids === null) {
      throw new ActionError({
        problem: `llama-tokenize printed no token ids for document ${i + 1} with ${opts.gguf} (last output: ${result.tail.last()})`,
        fix: `check that the GGUF loads with this llama.cpp`
      })
    }
    const at = firstDifference(doc.ids, ids)
    if (at !== null) {
      return { document: i + 1, position: at, mlx: doc.ids[at] ?? null, gguf: ids[at] ?? null }
    }
  }
  return null
}
