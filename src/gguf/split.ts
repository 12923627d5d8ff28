/**
 * Splits a GGUF file larger than `gguf-split` into shards with llama.cpp's own llama-gguf-split,
 * so each fits a GitHub release asset (under 2 GiB). Facts from ggml-org/llama.cpp v0.4.0,
 * tools/gguf-split/gguf-split.cpp: `--split-max-size` takes whole M or G (decimal) and limits the
 * tensor data of a shard only (each tensor padded to 32 bytes; the header comes on top: all
 * metadata in the first shard, three split.* keys in every one); a tensor is never split, and one
 * larger than the limit either gets a shard of its own (over the limit) or, first in the file,
 * stops the tool. Shards are `<prefix>-00001-of-0000N.gguf` (src/llama.cpp llama_split_path).
 */
import { parseGgufShardFilename } from '@huggingface/gguf'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { formatSize } from '../core/size.js'
import { describeExit, runStep } from '../core/run.js'
import { ActionError } from '../core/types.js'
import { GGUF_DEFAULT_ALIGNMENT, ggmlTypeById, padTo, tensorBytes } from './ggml.js'
import { readGgufHeader } from './verify.js'

const MB = 1_000_000
/**
 * What a shard's header can add to the unsplit file's header (`tensorDataOffset`): the three
 * split.* keys (82 bytes: `split.no` u16, `split.count` u16, `split.tensors.count` i32, each with
 * its u64 key length and u32 type) and up to one alignment of padding, rounded up.
 */
const SPLIT_HEADER_EXTRA = 128

/** Input `gguf-split` below this can never work: a shard holds at least 1 MB of tensor data. */
export const MIN_SPLIT_BYTES = MB + SPLIT_HEADER_EXTRA + 1

/**
 * The largest whole `--split-max-size` in MB that keeps every shard within `limit` bytes once its
 * header is added, for a file whose header (metadata and every tensor info) takes `headerBytes`.
 * Throws, naming the smallest limit that works, when that is under 1 MB.
 */
export function splitMegabytes(limit: number, headerBytes: number, input = 'gguf-split'): number {
  const megabytes = Math.floor((limit - headerBytes - SPLIT_HEADER_EXTRA) / MB)
  if (megabytes < 1) {
    const smallest = headerBytes + SPLIT_HEADER_EXTRA + MB
    throw new ActionError({
      problem: `Input ${input} is ${formatSize(limit)}, which leaves no room for tensor data: the GGUF header alone takes ${formatSize(headerBytes)} and llama-gguf-split splits by whole megabytes of tensor data`,
      fix: `set ${input} to at least ${smallest} (${formatSize(smallest)})`
    })
  }
  return megabytes
}

/** The largest tensor of a GGUF file, as llama-gguf-split counts it (padded to 32 bytes). */
async function largestTensor(file: string): Promise<{ name: string; bytes: number; type: string }> {
  const header = await readGgufHeader(file)
  let largest = { name: '', bytes: 0, type: '' }
  for (const t of header.tensors) {
    const type = ggmlTypeById(t.dtype)
    const size = type ? tensorBytes(type, t.shape) : null
    if (type && size !== null && padTo(size, GGUF_DEFAULT_ALIGNMENT) > largest.bytes) {
      largest = {
        name: t.name,
        bytes: padTo(size, GGUF_DEFAULT_ALIGNMENT),
        type: type.name.toUpperCase()
      }
    }
  }
  return largest
}

export interface SplitResult {
  /** Shard files in order, in the folder of the input. */
  shards: string[]
  argv: string[]
}

/**
 * Splits `file` into `<prefix>-0000i-of-0000N.gguf` beside it so every shard is within `limit`
 * bytes (the caller removes `file`). Refuses (before running the tool) when one tensor alone is larger
 * than the tensor data a shard may hold, naming it; measures every shard afterwards.
 */
export async function splitGguf(opts: {
  bin: string
  file: string
  /** `gguf-split` in bytes. */
  limit: number
  /** Output prefix: the shards are `<prefix>-0000i-of-0000N.gguf`. */
  prefix: string
}): Promise<SplitResult> {
  const name = path.basename(opts.file)
  const header = await readGgufHeader(opts.file)
  const megabytes = splitMegabytes(opts.limit, header.tensorDataOffset)
  const largest = await largestTensor(opts.file)
  if (largest.bytes > megabytes * MB) {
    const needed = Math.ceil(largest.bytes / MB) * MB + header.tensorDataOffset + SPLIT_HEADER_EXTRA
    throw new ActionError({
      problem: `Cannot split ${name} under gguf-split ${formatSize(opts.limit)}: its tensor ${largest.name} (${largest.type}) alone takes ${formatSize(largest.bytes)}, more than the ${megabytes}MB of tensor data a shard can hold, and llama-gguf-split never splits a tensor`,
      fix: `raise gguf-split to at least ${formatSize(needed)} or choose a type with fewer bits per weight`
    })
  }
  const args = ['--split', '--split-max-size', `${megabytes}M`, opts.file, opts.prefix]
  const title = `Splitting ${name} into shards of at most ${formatSize(opts.limit)} (llama-gguf-split)`
  const shardsOf = async (): Promise<string[]> => {
    const dir = path.dirname(opts.prefix)
    const base = path.basename(opts.prefix)
    return (await readdir(dir))
      .filter(n => parseGgufShardFilename(n)?.prefix === base)
      .sort()
      .map(n => path.join(dir, n))
  }
  await runStep({
    title,
    tool: 'llama-gguf-split',
    bin: opts.bin,
    args,
    cleanup: shardsOf,
    hint: `see the log group "${title}"`,
    failure: r => ({
      problem: `llama-gguf-split ${describeExit(r)} splitting ${name} (last output: ${r.tail.last()})`,
      fix: `see the log group "${title}"`
    })
  })
  const shards = await shardsOf()
  for (const shard of shards) {
    const bytes = (await stat(shard)).size
    if (bytes > opts.limit) {
      throw new ActionError({
        problem: `llama-gguf-split wrote ${path.basename(shard)} with ${formatSize(bytes)}, over gguf-split ${formatSize(opts.limit)}`,
        fix: `this is a bug in the action's split plan, please report it with this log`
      })
    }
  }
  return { shards, argv: [opts.bin, ...args] }
}
