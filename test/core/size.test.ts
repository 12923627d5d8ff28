import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as realFs from 'node:fs'
import { mkdtemp, mkdir, rm, symlink, truncate, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ActionError } from '../../src/core/types.js'

/**
 * node:fs is wrapped so that single paths can be made to fail (permission denied, vanished),
 * which root cannot reproduce with chmod; every other call goes to the real module.
 */
const failures = new Map<string, string>()
function injected(path: unknown): NodeJS.ErrnoException | null {
  const code = failures.get(String(path))
  if (code === undefined) return null
  return Object.assign(new Error(`${code}: injected failure, '${String(path)}'`), { code })
}
jest.unstable_mockModule('node:fs', () => ({
  ...realFs,
  readdir: (path: string, options: object, callback: (...args: unknown[]) => void) => {
    const error = injected(path)
    if (error !== null) return process.nextTick(() => callback(error))
    return realFs.readdir(path, options, callback as never)
  },
  lstat: (path: string, callback: (...args: unknown[]) => void) => {
    const error = injected(path)
    if (error !== null) return process.nextTick(() => callback(error))
    return realFs.lstat(path, callback as never)
  }
}))
const { formatBinary, formatBytes, formatDecimal, formatSize, measurePath, parseSize } =
  await import('../../src/core/size.js')

const KB = 1000
const KIB = 1024

describe('parseSize', () => {
  it.each<[string, number]>([
    ['123456', 123456],
    ['1', 1],
    ['007', 7],
    ['  42  ', 42],
    ['512 B', 512],
    ['512b', 512],
    ['1.999 B', 1],
    ['2.5GB', 2.5 * KB ** 3],
    ['2.5 GiB', 2.5 * KIB ** 3],
    ['1.5 kB', 1500],
    ['1.5kb', 1500],
    ['1.5 KB', 1500],
    ['1.5 Kb', 1500],
    ['5 kib', 5 * KIB],
    ['5 KIB', 5 * KIB],
    ['10     MB', 10 * KB ** 2],
    ['10\tMiB', 10 * KIB ** 2],
    ['3 gb', 3 * KB ** 3],
    ['3 Gb', 3 * KB ** 3],
    ['3 gib', 3 * KIB ** 3],
    ['3 GIB', 3 * KIB ** 3],
    ['2 TB', 2 * KB ** 4],
    ['2 TiB', 2 * KIB ** 4],
    // Exact decimal arithmetic: 0.29 * 1000 in floating point is 289.99999999999994.
    ['0.29 kB', 290],
    ['1.1 kB', 1100],
    ['4.123456789 GB', 4123456789],
    ['1.0000000001 kB', 1000],
    ['0.001 KiB', 1],
    ['8191.99 TiB', Math.floor(8191.99 * KIB ** 4)],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER]
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(parseSize(text, 'size-budget')).toBe(bytes)
  })

  it.each<[string, string]>([
    ['', 'it is empty'],
    ['   ', 'it is empty'],
    ['0', 'at least 1 byte'],
    ['0 GB', 'at least 1 byte'],
    ['0.0 MiB', 'at least 1 byte'],
    ['0.0001 KiB', 'rounds down to 0 bytes'],
    ['0.5 B', 'rounds down to 0 bytes'],
    ['-1MB', 'cannot be negative'],
    ['-5', 'cannot be negative'],
    ['- 5', 'cannot be negative'],
    ['abc', 'not a number'],
    ['NaN', 'not a number'],
    ['Infinity', 'not a number'],
    ['-Infinity', 'not a number'],
    ['GB', 'not a number'],
    ['.5GB', 'not a number'],
    ['5.GB', 'not a number'],
    ['+5', 'not a number'],
    ['1,000', 'not a number'],
    ['1 000', 'not a number'],
    ['0x10', 'not a number'],
    ['4 G B', 'not a number'],
    ['1e9', 'exponent notation'],
    ['1E9', 'exponent notation'],
    ['2.5e3 MB', 'exponent notation'],
    ['1e-3', 'exponent notation'],
    ['1.5', 'without a unit is whole bytes'],
    ['5 PB', '"PB" is not a known unit'],
    ['5 bytes', '"bytes" is not a known unit'],
    ['5 MBs', '"MBs" is not a known unit'],
    ['2Gi', 'did you mean 2GiB?'],
    ['9007199254740992', 'above the largest exact size, 9,007,199,254,740,991 bytes'],
    ['8192 TiB', 'above the largest exact size'],
    ['99999999999999999999999 TB', 'above the largest exact size']
  ])('refuses %j (%s)', (text, reason) => {
    let caught: unknown
    try {
      parseSize(text, 'size-budget')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ActionError)
    const message = (caught as ActionError).message
    expect(message).toContain(reason)
    expect(message).toContain(`Input size-budget has an invalid size ${JSON.stringify(text)}: `)
    expect(message).toContain('KiB, MiB, GiB, TiB (1024-based).')
  })

  it.each<[string, string, string]>([
    ['2G', 'G', 'did you mean 2GB or 2GiB?'],
    ['2 M', 'M', 'did you mean 2MB or 2MiB?'],
    ['1.5k', 'k', 'did you mean 1.5kB or 1.5KiB?'],
    ['3 t', 't', 'did you mean 3TB or 3TiB?']
  ])('refuses the ambiguous bare unit in %j with a hint', (text, unit, hint) => {
    expect(() => parseSize(text, 'size-budget')).toThrow(`a bare ${unit} is ambiguous; ${hint}`)
  })

  it('writes the message in the documented form, naming the input given', () => {
    expect(() => parseSize('2G', 'size-budget')).toThrow(
      'Input size-budget has an invalid size "2G": a bare G is ambiguous; did you mean 2GB or ' +
        '2GiB? Sizes are whole bytes or a number with kB, MB, GB, TB (1000-based) or KiB, MiB, ' +
        'GiB, TiB (1024-based).'
    )
    expect(() => parseSize('2G', 'size-budget entry "gguf=2G"')).toThrow(
      'Input size-budget entry "gguf=2G" has an invalid size "2G": a bare G'
    )
  })

  it('quotes odd values safely and cuts long ones', () => {
    expect(() => parseSize('4\nGB', 'size-budget')).toThrow('invalid size "4\\nGB"')
    const message = (() => {
      try {
        parseSize('x'.repeat(500), 'size-budget')
      } catch (error) {
        return (error as Error).message
      }
      return ''
    })()
    expect(message).toContain(`"${'x'.repeat(57)}..."`)
    expect(message.length).toBeLessThan(300)
  })
})

describe('formatting', () => {
  const sixGB = 6_071_234_567
  it.each<[number, string, string, string]>([
    [0, '0 B', '0 B', '0 B'],
    [1, '1 B', '1 B', '1 B'],
    [999, '999 B', '999 B', '999 B'],
    [1000, '1.00 kB', '1000 B', '1.00 kB (1000 B)'],
    [1023, '1.02 kB', '1023 B', '1.02 kB (1023 B)'],
    [1024, '1.02 kB', '1.00 KiB', '1.02 kB (1.00 KiB)'],
    [1536, '1.54 kB', '1.50 KiB', '1.54 kB (1.50 KiB)'],
    [1005, '1.01 kB', '1005 B', '1.01 kB (1005 B)'],
    [999_994, '999.99 kB', '976.56 KiB', '999.99 kB (976.56 KiB)'],
    [999_995, '1.00 MB', '976.56 KiB', '1.00 MB (976.56 KiB)'],
    [KIB ** 2 - 1, '1.05 MB', '1.00 MiB', '1.05 MB (1.00 MiB)'],
    [sixGB, '6.07 GB', '5.65 GiB', '6.07 GB (5.65 GiB)'],
    [2.5 * KIB ** 3, '2.68 GB', '2.50 GiB', '2.68 GB (2.50 GiB)'],
    [KB ** 4, '1.00 TB', '931.32 GiB', '1.00 TB (931.32 GiB)'],
    [Number.MAX_SAFE_INTEGER, '9007.20 TB', '8192.00 TiB', '9007.20 TB (8192.00 TiB)'],
    [-999, '-999 B', '-999 B', '-999 B'],
    [-sixGB, '-6.07 GB', '-5.65 GiB', '-6.07 GB (-5.65 GiB)']
  ])('formats %d bytes', (bytes, decimal, binary, both) => {
    expect(formatDecimal(bytes)).toBe(decimal)
    expect(formatBinary(bytes)).toBe(binary)
    expect(formatSize(bytes)).toBe(both)
  })

  it('agrees with the two-decimal value computed independently', () => {
    for (const bytes of [12_345, 6_789_012, 3_456_789_012, 7_654_321_098_765]) {
      const power = Math.floor(Math.log10(bytes) / 3)
      const expected = (bytes / 1000 ** power).toFixed(2)
      expect(formatDecimal(bytes)).toBe(`${expected} ${['B', 'kB', 'MB', 'GB', 'TB'][power]}`)
    }
  })

  it.each<[number, string]>([
    [0, '0 bytes'],
    [1, '1 byte'],
    [-1, '-1 byte'],
    [999, '999 bytes'],
    [1000, '1,000 bytes'],
    [6_071_234_567, '6,071,234,567 bytes'],
    [-1_048_576, '-1,048,576 bytes'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991 bytes']
  ])('writes %d as %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })

  it('refuses sizes that are not whole safe numbers of bytes', () => {
    for (const bad of [1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => formatSize(bad)).toThrow(ActionError)
      expect(() => formatBytes(bad)).toThrow(ActionError)
    }
  })
})

describe('measurePath', () => {
  let root: string
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'size-test-'))
  })
  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
  })

  /** Writes files of the given sizes and returns their sum. */
  async function files(dir: string, sizes: Record<string, number>): Promise<number> {
    await mkdir(dir, { recursive: true })
    let sum = 0
    for (const [name, size] of Object.entries(sizes)) {
      await writeFile(join(dir, name), Buffer.alloc(size, 7))
      sum += size
    }
    return sum
  }

  it('measures a single file, including an empty one', async () => {
    await files(join(root, 'single'), { 'a.gguf': 12_345, empty: 0 })
    expect(await measurePath(join(root, 'single', 'a.gguf'))).toEqual({ bytes: 12_345, files: 1 })
    expect(await measurePath(join(root, 'single', 'empty'))).toEqual({ bytes: 0, files: 1 })
  })

  it('measures nested directories', async () => {
    const dir = join(root, 'nested')
    let sum = await files(dir, { 'config.json': 321, 'model.safetensors': 40_000 })
    const inA = await files(join(dir, 'a'), { x: 1, y: 0, z: 999 })
    const deep = await files(join(dir, 'a', 'b', 'c', 'd'), { deep: 4096 })
    sum += inA + deep
    await mkdir(join(dir, 'empty', 'also-empty'), { recursive: true })
    expect(await measurePath(dir)).toEqual({ bytes: sum, files: 6 })
    expect(await measurePath(`${dir}/`)).toEqual({ bytes: sum, files: 6 })
    expect(await measurePath(join(dir, 'a'))).toEqual({ bytes: inA + deep, files: 4 })
  })

  it('measures an empty directory as 0 bytes in 0 files', async () => {
    await mkdir(join(root, 'empty'))
    expect(await measurePath(join(root, 'empty'))).toEqual({ bytes: 0, files: 0 })
  })

  it('measures a link to a regular file inside a tree by its target, never as 0 bytes', async () => {
    // Issue 6: weights reached through links counted 0 bytes and passed a budget at a quarter of their size.
    const big = join(root, 'big.bin')
    await writeFile(big, '')
    await truncate(big, KIB ** 3)
    const dir = join(root, 'links')
    const sum = await files(dir, { real: 777 })
    await symlink(big, join(dir, 'to-big'))
    await symlink('real', join(dir, 'relative'))
    expect(await measurePath(dir)).toEqual({ bytes: sum * 2 + KIB ** 3, files: 3 })
  })

  it.each([
    [
      'a directory',
      (dir: string) => symlink(root, join(dir, 'bad')),
      'a symbolic link to a directory'
    ],
    [
      'itself (a loop)',
      (dir: string) => symlink('bad', join(dir, 'bad')),
      'a symbolic link that loops'
    ],
    [
      'nothing',
      (dir: string) => symlink('missing', join(dir, 'bad')),
      'a symbolic link to nothing (its target is missing)'
    ],
    [
      'a FIFO',
      async (dir: string) => {
        execFileSync('mkfifo', [join(root, `fifo-${Math.random()}`.replace('.', ''))])
        const fifo = realFs.readdirSync(root).find(n => n.startsWith('fifo-'))!
        await symlink(join(root, fifo), join(dir, 'bad'))
      },
      'a symbolic link to something that is not a regular file'
    ]
  ])('refuses a link inside a tree to %s, naming it', async (_what, make, reason) => {
    const dir = await mkdtemp(join(root, 'badlink-'))
    await files(dir, { real: 5 })
    await make(dir)
    const promise = measurePath(dir)
    await expect(promise).rejects.toThrow(ActionError)
    await expect(promise).rejects.toThrow(
      `Cannot measure "${dir}" exactly: "${join(dir, 'bad')}" in it is ${reason}; uploads follow links`
    )
  })

  it('measures what a symbolic link named as the path itself points to', async () => {
    const target = join(root, 'link-target')
    const sum = await files(target, { a: 10, b: 20 })
    await symlink(target, join(root, 'dir-link'))
    await symlink(join(target, 'a'), join(root, 'file-link'))
    expect(await measurePath(join(root, 'dir-link'))).toEqual({ bytes: sum, files: 2 })
    expect(await measurePath(join(root, 'file-link'))).toEqual({ bytes: 10, files: 1 })
    await symlink(join(root, 'nowhere'), join(root, 'broken-link'))
    await expect(measurePath(join(root, 'broken-link'))).rejects.toThrow(
      /^Cannot measure ".*broken-link": it does not exist/
    )
  })

  it('counts the apparent size of a sparse file (its lstat size, not its allocated blocks)', async () => {
    const dir = join(root, 'sparse')
    await mkdir(dir)
    const path = join(dir, 'hole.bin')
    await writeFile(path, Buffer.alloc(10, 1))
    await truncate(path, 64 * KIB ** 2)
    const stats = realFs.statSync(path)
    // Sparse on this file system: fewer blocks allocated than the length.
    expect(stats.blocks * 512).toBeLessThan(stats.size)
    expect(await measurePath(dir)).toEqual({ bytes: 64 * KIB ** 2, files: 1 })
  })

  it('ignores FIFOs', async () => {
    const dir = join(root, 'special')
    const sum = await files(dir, { f: 5 })
    execFileSync('mkfifo', [join(dir, 'pipe')])
    expect(await measurePath(dir)).toEqual({ bytes: sum, files: 1 })
    await expect(measurePath(join(dir, 'pipe'))).rejects.toThrow(
      'is neither a regular file nor a directory'
    )
  })

  it('sums 2,000 files in a varied tree exactly', async () => {
    const dir = join(root, 'many')
    let sum = 0
    let count = 0
    for (let a = 0; a < 8; a++) {
      for (let b = 0; b < 5; b++) {
        const sizes: Record<string, number> = {}
        for (let i = 0; i < 50; i++) sizes[`f${i}.bin`] = (a * 7919 + b * 104_729 + i * 131) % 9000
        sum += await files(join(dir, `a${a}`, `b${b}`), sizes)
        count += 50
      }
    }
    expect(count).toBe(2000)
    expect(await measurePath(dir)).toEqual({ bytes: sum, files: count })
  })

  it('refuses a missing path, naming it', async () => {
    const missing = join(root, 'no-such-output')
    const promise = measurePath(missing)
    await expect(promise).rejects.toThrow(ActionError)
    await expect(promise).rejects.toThrow(`Cannot measure "${missing}": it does not exist`)
  })

  it('fails closed, naming an unreadable subdirectory', async () => {
    const dir = join(root, 'locked')
    await files(join(dir, 'open'), { a: 1 })
    await files(join(dir, 'shut'), { b: 2 })
    failures.set(join(dir, 'shut'), 'EACCES')
    try {
      const promise = measurePath(dir)
      await expect(promise).rejects.toThrow(ActionError)
      await expect(promise).rejects.toThrow(
        `Cannot read the directory "${join(dir, 'shut')}" (EACCES)`
      )
    } finally {
      failures.clear()
    }
  })

  it('fails closed when a file vanishes while it is measured', async () => {
    const dir = join(root, 'vanishing')
    await files(dir, { a: 1, b: 2 })
    failures.set(join(dir, 'b'), 'ENOENT')
    try {
      await expect(measurePath(dir)).rejects.toThrow(
        `Cannot measure the file "${join(dir, 'b')}": it disappeared while it was being measured`
      )
    } finally {
      failures.clear()
    }
  })

  const root0 = process.getuid?.() === 0
  // Root reads any directory whatever its mode, so this real-permission case runs only as a normal user.
  ;(root0 ? it.skip : it)('fails closed on a real chmod 000 directory', async () => {
    const dir = join(root, 'chmod')
    await files(join(dir, 'shut'), { b: 2 })
    await chmod(join(dir, 'shut'), 0o000)
    try {
      await expect(measurePath(dir)).rejects.toThrow(
        `Cannot read the directory "${join(dir, 'shut')}" (EACCES)`
      )
    } finally {
      await chmod(join(dir, 'shut'), 0o755)
    }
  })
})
