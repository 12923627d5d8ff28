/**
 * SHA-256 of a file, streamed once. Two reused buffers: while the hash digests one chunk on the
 * main thread, the next chunk is already being read in the thread pool, so reading and hashing
 * overlap (`npm run bench` compares it with `openssl dgst -sha256` and `sha256sum`).
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'

/** Bytes per read; each of the two buffers is this large. */
export const CHUNK_BYTES = 4 * 1024 * 1024

export interface FileChecksum {
  /** Lower-case hex SHA-256. */
  sha256: string
  /** Bytes hashed: the file's size as read. */
  bytes: number
}

export async function sha256File(file: string): Promise<FileChecksum> {
  const handle = await fs.open(file, 'r')
  try {
    const hash = createHash('sha256')
    const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]
    let bytes = 0
    let which = 0
    let pending = handle.read(buffers[which], 0, CHUNK_BYTES, null)
    for (;;) {
      const { bytesRead } = await pending
      if (bytesRead === 0) break
      const current = buffers[which]
      which ^= 1
      // Start the next read before hashing this chunk; position null keeps the file's own offset.
      pending = handle.read(buffers[which], 0, CHUNK_BYTES, null)
      hash.update(current.subarray(0, bytesRead))
      bytes += bytesRead
    }
    return { sha256: hash.digest('hex'), bytes }
  } finally {
    await handle.close()
  }
}
