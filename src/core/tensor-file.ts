/**
 * Writing a small safetensors file (header + tensors held in memory) and its companion JSON as new
 * files in a folder this run made: the PEFT folder of a LoRA-only GGUF (issue 19) is the one user.
 * Files are created with `wx`, so nothing already there is ever written over.
 */
import { promises as fs } from 'node:fs'

export interface TensorBytes {
  name: string
  dtype: string
  shape: readonly number[]
  data: Buffer
}

/**
 * Writes `tensors` as a safetensors file at `file` (new): an 8-byte little-endian header length,
 * the JSON header (padded with spaces to 8 bytes, as the safetensors format recommends), the data.
 */
export async function writeTensorFile(
  file: string,
  tensors: readonly TensorBytes[]
): Promise<void> {
  const header: Record<string, unknown> = {}
  let offset = 0
  for (const t of tensors) {
    header[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.length]
    }
    offset += t.data.length
  }
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8)
  const head = Buffer.alloc(8)
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)))
  await fs.writeFile(file, Buffer.concat([head, Buffer.from(json), ...tensors.map(t => t.data)]), {
    flag: 'wx'
  })
}

/** Writes `value` as pretty JSON at `file` (new). */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await fs.writeFile(file, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' })
}
