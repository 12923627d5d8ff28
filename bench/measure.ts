/**
 * Bench of measurePath against GNU du and find on a 20,000-file tree.
 *
 * What each tool counts, on this tree (regular files and directories only):
 * - measurePath: the lstat sizes of regular files; directories count 0.
 * - `find -type f -printf '%s\n'`, summed: exactly the same bytes, the reference.
 * - `du -sb --apparent-size`: the same file bytes plus every directory's own size (4096 per
 *   directory on ext4), so its total is compared after subtracting the directories' sizes
 *   (`find -type d -printf '%s\n'`, summed). du also counts each hard-linked file once; the
 *   tree has no hard links.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { formatBytes, formatSize, measurePath } from '../src/core/size.js'

const run = promisify(execFile)

const FILES = 20_000
const RUNS = 3

interface Tree {
  root: string
  files: number
  bytes: number
  dirs: number
}

/**
 * 10 x 10 x 4 leaf directories (three levels below the root, 511 directories in all) holding
 * 50 files each. Sizes vary from 0 to 4 KiB of real data; every 1000th file is sparse and
 * large (up to about 3 GB) like a weight shard, so the total exercises more than 32 bits.
 */
async function buildTree(): Promise<Tree> {
  const root = await mkdtemp(join(tmpdir(), 'bench-measure-'))
  let files = 0
  let bytes = 0
  let dirs = 1
  let seed = 12_345
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed
  }
  for (let a = 0; a < 10; a++) {
    dirs += 1
    for (let b = 0; b < 10; b++) {
      dirs += 1
      for (let c = 0; c < 4; c++) {
        const dir = join(root, `layer-${a}`, `block-${b}`, `part-${c}`)
        await mkdir(dir, { recursive: true })
        dirs += 1
        const writes: Promise<void>[] = []
        for (let i = 0; i < FILES / 400; i++) {
          const path = join(dir, `tensor-${i}.bin`)
          files += 1
          if (files % 1000 === 0) {
            const size = 1_000_000_000 + (next() % 2_000_000_000)
            writes.push(writeFile(path, '').then(() => truncate(path, size)))
            bytes += size
          } else {
            const size = next() % 4097
            writes.push(writeFile(path, Buffer.alloc(size, files % 251)))
            bytes += size
          }
        }
        await Promise.all(writes)
      }
    }
  }
  return { root, files, bytes, dirs }
}

/** Best wall time of RUNS runs after one warm-up run, and the last result. */
async function best<T>(task: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let result = await task()
  let ms = Infinity
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    result = await task()
    ms = Math.min(ms, performance.now() - start)
  }
  return { ms, result }
}

async function sumOfSizes(root: string, type: 'f' | 'd'): Promise<number> {
  const { stdout } = await run('find', [root, '-type', type, '-printf', '%s\n'], {
    maxBuffer: 64 * 1024 * 1024
  })
  return stdout
    .split('\n')
    .filter(line => line !== '')
    .reduce((sum, line) => sum + Number(line), 0)
}

async function duBytes(root: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', '--apparent-size', root])
  return Number(stdout.split('\t')[0])
}

/** `2.61x slower than du` / `1.40x faster than du`: how `ms` compares with `otherMs`. */
export function speedAgainst(ms: number, otherMs: number, other: string): string {
  if (Math.abs(ms - otherMs) < 0.005 * otherMs) return `as fast as ${other}`
  return ms > otherMs
    ? `${(ms / otherMs).toFixed(2)}x slower than ${other}`
    : `${(otherMs / ms).toFixed(2)}x faster than ${other}`
}

function rate(files: number, ms: number): string {
  return `${Math.round((files / ms) * 1000).toLocaleString('en-US')} files/s`
}

export async function benchMeasure(): Promise<void> {
  const started = performance.now()
  const tree = await buildTree()
  try {
    const built = performance.now() - started
    console.log(
      `measurePath: tree of ${tree.files.toLocaleString('en-US')} files in ${tree.dirs} ` +
        `directories, ${formatSize(tree.bytes)}, built in ${built.toFixed(0)} ms`
    )
    const ours = await best(() => measurePath(tree.root))
    const du = await best(() => duBytes(tree.root))
    const find = await best(() => sumOfSizes(tree.root, 'f'))
    const dirBytes = await sumOfSizes(tree.root, 'd')

    const duFiles = du.result - dirBytes
    const agree =
      ours.result.bytes === tree.bytes &&
      ours.result.files === tree.files &&
      find.result === tree.bytes &&
      duFiles === tree.bytes
    console.log(
      `  measurePath            ${ours.ms.toFixed(1).padStart(7)} ms  ${rate(tree.files, ours.ms)}` +
        `  ${formatBytes(ours.result.bytes)} in ${ours.result.files} files`
    )
    console.log(
      `  du -sb --apparent-size ${du.ms.toFixed(1).padStart(7)} ms  ${rate(tree.files, du.ms)}` +
        `  ${formatBytes(du.result)} = files + ${formatBytes(dirBytes)} of directories`
    )
    console.log(
      `  find -type f -printf   ${find.ms.toFixed(1).padStart(7)} ms  ${rate(tree.files, find.ms)}` +
        `  ${formatBytes(find.result)}`
    )
    console.log(
      `  best of ${RUNS} warm runs: measurePath is ${speedAgainst(ours.ms, du.ms, 'du')} and ` +
        `${speedAgainst(ours.ms, find.ms, 'find')} (du and find times include process start)`
    )
    console.log(`  totals ${agree ? 'agree' : 'DISAGREE'} (expected ${formatBytes(tree.bytes)})`)
    if (!agree) {
      throw new Error(
        `measurePath bench: totals disagree: measurePath ${ours.result.bytes} in ` +
          `${ours.result.files} files, find ${find.result}, du minus directories ${duFiles}, ` +
          `expected ${tree.bytes} in ${tree.files} files.`
      )
    }
  } finally {
    await rm(tree.root, { recursive: true, force: true })
  }
}
