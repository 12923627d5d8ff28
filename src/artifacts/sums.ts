/** Per-file checksums of the outputs, computed once, and the SHA256SUMS text made from them. */
import path from 'node:path'
import { sha256File } from '../core/checksum.js'
import { listFiles } from '../core/size.js'
import type { MeasuredOutput } from '../core/types.js'

/** Absolute file path to lower-case hex SHA-256. */
export type Checksums = Map<string, string>

/**
 * The files of an output, as [absolute path, path relative to the output]: a GGUF output's file or
 * shards; an MLX output's files by the rule its size was measured by (core/size.ts listFiles:
 * regular files and links to regular files, sorted), so measuring, hashing and uploading agree.
 */
export async function outputFiles(output: MeasuredOutput): Promise<Array<[string, string]>> {
  if (output.kind === 'gguf') {
    // A split type is its shards, each a file of its own (uploaded as its own artifact).
    const files = output.shards?.map(s => s.path) ?? [output.path]
    return files.map((f): [string, string] => [f, path.basename(f)])
  }
  return (await listFiles(output.path)).entries
}

/**
 * SHA-256 of every file of every output, one file at a time (the disk is the limit). A GGUF
 * output's `sha256`, already computed by the GGUF pipeline, is reused, as is anything in `known`.
 */
export async function checksumOutputs(
  outputs: readonly MeasuredOutput[],
  known: Checksums = new Map()
): Promise<Checksums> {
  const sums: Checksums = new Map(known)
  for (const output of outputs) {
    if (output.kind === 'gguf' && output.sha256 && !sums.has(output.path)) {
      sums.set(output.path, output.sha256)
    }
    for (const shard of output.shards ?? [])
      if (!sums.has(shard.path)) sums.set(shard.path, shard.sha256)
    for (const [file] of await outputFiles(output)) {
      if (!sums.has(file)) sums.set(file, (await sha256File(file)).sha256)
    }
  }
  return sums
}

/** The outputs with their checksums attached: an MLX output gets `sha256Files`, a GGUF `sha256`. */
export async function withChecksums(
  outputs: readonly MeasuredOutput[],
  sums: Checksums
): Promise<MeasuredOutput[]> {
  return Promise.all(
    outputs.map(async o => {
      if (o.kind === 'gguf' && o.shards) return o // each shard carries its own sha256
      if (o.kind === 'gguf') return { ...o, sha256: sums.get(o.path) ?? o.sha256 }
      const files = await outputFiles(o)
      return {
        ...o,
        sha256Files: Object.fromEntries(files.map(([abs, rel]) => [rel, sums.get(abs)!]))
      }
    })
  )
}

/**
 * One `sha256sum` line (GNU coreutils format, text mode: two spaces). A name with a backslash or
 * a newline is escaped the way `sha256sum` itself escapes it: a leading backslash on the line.
 */
export function sumLine(sha256: string, name: string): string {
  if (!/[\\\n]/.test(name)) return `${sha256}  ${name}`
  return `\\${sha256}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`
}

export function sumsText(entries: ReadonlyArray<[sha256: string, name: string]>): string {
  return entries.map(([sum, name]) => `${sumLine(sum, name)}\n`).join('')
}
