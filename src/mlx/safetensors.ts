/**
 * Safetensors headers, read without touching tensor data.
 *
 * Layout: 8 bytes little-endian header length N, N bytes of JSON header (maybe padded with
 * spaces), then the data section. Each header entry maps a tensor name to its dtype, shape and
 * `data_offsets` [begin, end) relative to the data section; `__metadata__` holds string pairs.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'

import { ActionError } from '../core/types.js'

/** Headers longer than this are refused: real ones are at most a few MB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024

export interface TensorInfo {
  dtype: string
  shape: number[]
  /** [begin, end) in bytes, relative to the start of the data section. */
  dataOffsets: [number, number]
}

export interface SafetensorsHeader {
  /** Length of the JSON header (the 8-byte length prefix not included). */
  headerBytes: number
  tensors: Record<string, TensorInfo>
  metadata: Record<string, string>
}

/** Bits per element of each safetensors dtype (sub-byte float types included). */
const DTYPE_BITS: Record<string, number> = {
  F64: 64,
  F32: 32,
  F16: 16,
  BF16: 16,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
  C64: 64,
  I64: 64,
  I32: 32,
  I16: 16,
  I8: 8,
  U64: 64,
  U32: 32,
  U16: 16,
  U8: 8,
  BOOL: 8
}

/**
 * Bytes per element of a safetensors dtype (0.5 for F4, 0.75 for the F6 types), or null for a
 * dtype this action does not know.
 */
export function dtypeBytes(dtype: string): number | null {
  const bits = DTYPE_BITS[dtype.toUpperCase()]
  return bits === undefined ? null : bits / 8
}

/** True for floating-point dtypes (F64, F32, F16, BF16, F8_*, F6_*, F4). */
export function isFloatDtype(dtype: string): boolean {
  const d = dtype.toUpperCase()
  return d === 'BF16' || (d.startsWith('F') && d in DTYPE_BITS)
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1)
}

const DEFAULT_FIX = 're-download the model or re-run the step that wrote it'

function notSafetensors(file: string, why: string, fix = DEFAULT_FIX): ActionError {
  return new ActionError({
    problem: `${file} is truncated or not a safetensors file (${why})`,
    fix
  })
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/**
 * Reads the header of one safetensors file: the 8-byte length and the JSON header only, never the
 * tensor data. Checks that the file is exactly 8 + header + data section long and that every
 * tensor's byte range matches its dtype and shape.
 */
export async function readSafetensorsHeader(
  file: string,
  fix = DEFAULT_FIX
): Promise<SafetensorsHeader> {
  const refuse = (why: string): ActionError => notSafetensors(file, why, fix)
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    throw new ActionError({
      problem: `Cannot open ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      fix: `check that the model directory holds the weight files`
    })
  }
  try {
    const { size } = await handle.stat()
    if (size < 8) throw refuse(`${size} bytes, shorter than the 8-byte header length`)
    const prefix = Buffer.alloc(8)
    await handle.read(prefix, 0, 8, 0)
    const declared = prefix.readBigUInt64LE(0)
    if (declared > BigInt(MAX_HEADER_BYTES)) {
      throw refuse(`header length ${declared} bytes is over the 100 MB limit`)
    }
    const headerBytes = Number(declared)
    if (headerBytes < 2) throw refuse(`header length ${headerBytes} bytes`)
    if (8 + headerBytes > size) {
      throw refuse(
        `header length ${headerBytes} bytes but the file has only ${size - 8} after the length`
      )
    }
    const buf = Buffer.alloc(headerBytes)
    const { bytesRead } = await handle.read(buf, 0, headerBytes, 8)
    if (bytesRead !== headerBytes) {
      throw refuse(`read ${bytesRead} of ${headerBytes} header bytes`)
    }

    let json: unknown
    try {
      json = JSON.parse(buf.toString('utf8'))
    } catch {
      throw refuse('the header is not valid JSON')
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw refuse('the header is not a JSON object')
    }

    const { tensors, metadata, dataEnd } = parseEntries(json as Record<string, unknown>, refuse)

    const expectedSize = 8 + headerBytes + dataEnd
    if (size !== expectedSize) {
      throw refuse(
        `${size} bytes on disk, the header describes ${expectedSize} (8 + ${headerBytes} header + ${dataEnd} data)`
      )
    }
    return { headerBytes, tensors, metadata }
  } finally {
    await handle.close()
  }
}

/** The header's tensor entries, each checked against its dtype and shape, and its metadata. */
function parseEntries(
  json: Record<string, unknown>,
  refuse: (why: string) => ActionError
): { tensors: Record<string, TensorInfo>; metadata: Record<string, string>; dataEnd: number } {
  const tensors: Record<string, TensorInfo> = {}
  const metadata: Record<string, string> = {}
  let dataEnd = 0
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          metadata[k] = typeof v === 'string' ? v : JSON.stringify(v)
        }
      }
      continue
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null
    const dtype = entry?.dtype
    const shape = entry?.shape
    const offsets = entry?.data_offsets
    if (
      typeof dtype !== 'string' ||
      !Array.isArray(shape) ||
      !shape.every(isNonNegativeInt) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !isNonNegativeInt(offsets[0]) ||
      !isNonNegativeInt(offsets[1]) ||
      offsets[0] > offsets[1]
    ) {
      throw refuse(`tensor ${name} has no valid dtype, shape and data_offsets`)
    }
    const [begin, end] = offsets as [number, number]
    const bytes = dtypeBytes(dtype)
    if (bytes !== null) {
      const expected = elementCount(shape as number[]) * bytes
      if (end - begin !== expected) {
        throw refuse(
          `tensor ${name} spans ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${expected}`
        )
      }
    }
    tensors[name] = { dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] }
    if (end > dataEnd) dataEnd = end
  }
  return { tensors, metadata, dataEnd }
}

/**
 * The weight files of a model directory as `path.join(modelDir, name)`, sorted by name: the
 * shards named in `model.safetensors.index.json` when it exists, otherwise every `*.safetensors`
 * file in the directory.
 */
export async function listWeightFiles(modelDir: string): Promise<string[]> {
  let dirents
  try {
    dirents = await readdir(modelDir, { withFileTypes: true })
  } catch (err) {
    throw new ActionError({
      problem: `Cannot read model directory ${modelDir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      fix: `check the path and that the fuse step wrote it`
    })
  }

  const indexName = 'model.safetensors.index.json'
  if (dirents.some(d => d.name === indexName)) {
    const indexFile = path.join(modelDir, indexName)
    let index: unknown
    try {
      index = JSON.parse(await readFile(indexFile, 'utf8'))
    } catch {
      throw new ActionError({
        problem: `${indexFile} is not valid JSON`,
        fix: `delete it or re-run the step that wrote the model`
      })
    }
    const weightMap = (index as { weight_map?: unknown } | null)?.weight_map
    if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
      throw new ActionError({
        problem: `${indexFile} has no weight_map object`,
        fix: `delete it or re-run the step that wrote the model`
      })
    }
    const names = new Set<string>()
    for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard === '') {
        throw new ActionError({
          problem: `${indexFile} maps tensor ${tensor} to no file name`,
          fix: `re-run the step that wrote the model`
        })
      }
      names.add(shard)
    }
    if (names.size === 0) {
      throw new ActionError({
        problem: `${indexFile} lists no weight files`,
        fix: `re-run the step that wrote the model`
      })
    }
    const files = [...names].sort().map(n => path.join(modelDir, n))
    for (const file of files) {
      const ok = await stat(file).then(
        s => s.isFile(),
        () => false
      )
      if (!ok) {
        throw new ActionError({
          problem: `Shard ${file} listed in ${indexFile} is missing`,
          fix: `copy the complete model or re-run the step that wrote it`
        })
      }
    }
    return files
  }

  const files = dirents
    .filter(d => !d.isDirectory() && d.name.endsWith('.safetensors'))
    .map(d => d.name)
    .sort()
    .map(n => path.join(modelDir, n))
  if (files.length === 0) {
    throw new ActionError({
      problem: `Model directory ${modelDir} holds no .safetensors files`,
      fix: `point the input at an MLX model directory`
    })
  }
  return files
}
