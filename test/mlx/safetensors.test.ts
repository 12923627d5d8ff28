import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import {
  dtypeBytes,
  listWeightFiles,
  MAX_HEADER_BYTES,
  readSafetensorsHeader
} from '../../src/mlx/safetensors.js'
import { ActionError } from '../../src/core/types.js'
import { writeSafetensors } from '../fixtures/safetensors.js'
import { rejection } from '../fixtures/rejection.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'safetensors-test-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('dtypeBytes', () => {
  it('knows every safetensors dtype', () => {
    const table: Record<string, number> = {
      F64: 8,
      F32: 4,
      F16: 2,
      BF16: 2,
      I64: 8,
      I32: 4,
      I16: 2,
      I8: 1,
      U64: 8,
      U32: 4,
      U16: 2,
      U8: 1,
      BOOL: 1,
      F8_E4M3: 1,
      F8_E5M2: 1,
      F8_E8M0: 1,
      F4: 0.5
    }
    for (const [dtype, bytes] of Object.entries(table)) expect(dtypeBytes(dtype)).toBe(bytes)
    expect(dtypeBytes('bf16')).toBe(2)
    expect(dtypeBytes('Q4_K')).toBeNull()
  })
})

describe('readSafetensorsHeader', () => {
  it('reads dtypes, shapes, offsets and metadata from the header only', async () => {
    const file = path.join(dir, 'ok.safetensors')
    const headerBytes = await writeSafetensors(
      file,
      {
        'a.weight': { dtype: 'BF16', shape: [4, 8] },
        'a.scales': { dtype: 'F32', shape: [4] },
        step: { dtype: 'I64', shape: [] }
      },
      { metadata: { format: 'mlx' }, random: true }
    )
    const h = await readSafetensorsHeader(file)
    expect(h.headerBytes).toBe(headerBytes)
    expect(h.headerBytes % 8).toBe(0)
    expect(h.metadata).toEqual({ format: 'mlx' })
    expect(h.tensors).toEqual({
      'a.weight': { dtype: 'BF16', shape: [4, 8], dataOffsets: [0, 64] },
      'a.scales': { dtype: 'F32', shape: [4], dataOffsets: [64, 80] },
      step: { dtype: 'I64', shape: [], dataOffsets: [80, 88] }
    })
  })

  it('accepts a file with no tensors', async () => {
    const file = path.join(dir, 'empty.safetensors')
    await writeSafetensors(file, {})
    const h = await readSafetensorsHeader(file)
    expect(h.tensors).toEqual({})
  })

  it('refuses a truncated file, naming it', async () => {
    const file = path.join(dir, 'truncated.safetensors')
    await writeSafetensors(file, { w: { dtype: 'F16', shape: [16, 16] } })
    await truncate(file, 200)
    const err = await rejection(readSafetensorsHeader(file))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toContain(`${file} is truncated or not a safetensors file (`)
    expect(err.message).toContain('200 bytes on disk')
  })

  it('refuses a file with extra bytes after the data', async () => {
    const file = path.join(dir, 'long.safetensors')
    await writeSafetensors(file, { w: { dtype: 'F16', shape: [2] } })
    await truncate(file, 1000)
    const err = await rejection(readSafetensorsHeader(file))
    expect(err.message).toMatch(/is truncated or not a safetensors file/)
  })

  it('refuses a garbage header', async () => {
    const file = path.join(dir, 'garbage.safetensors')
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(64n)
    await writeFile(file, Buffer.concat([prefix, Buffer.from('not json at all '.repeat(4))]))
    const err = await rejection(readSafetensorsHeader(file))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toBe(
      `${file} is truncated or not a safetensors file (the header is not valid JSON); re-download the model or re-run the step that wrote it.`
    )
  })

  it('refuses an absurd header length without reading it', async () => {
    const file = path.join(dir, 'absurd.safetensors')
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES) + 1n)
    await writeFile(file, Buffer.concat([prefix, Buffer.from('{}')]))
    const err = await rejection(readSafetensorsHeader(file))
    expect(err.message).toMatch(/not a safetensors file \(header length \d+ bytes is over/)

    const random = path.join(dir, 'random.safetensors')
    await writeFile(random, Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(60)]))
    expect((await rejection(readSafetensorsHeader(random))).message).toContain(random)
  })

  it('refuses a file shorter than the length prefix and a header longer than the file', async () => {
    const tiny = path.join(dir, 'tiny.safetensors')
    await writeFile(tiny, Buffer.from([1, 2, 3]))
    expect((await rejection(readSafetensorsHeader(tiny))).message).toMatch(
      /tiny\.safetensors is truncated or not a safetensors file \(3 bytes/
    )
    const short = path.join(dir, 'short.safetensors')
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(500n)
    await writeFile(short, Buffer.concat([prefix, Buffer.from('{"a":')]))
    expect((await rejection(readSafetensorsHeader(short))).message).toMatch(
      /header length 500 bytes but the file has only 5/
    )
  })

  it('refuses tensors whose byte range does not match dtype and shape', async () => {
    const file = path.join(dir, 'mismatch.safetensors')
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } })
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(json.length))
    await writeFile(file, Buffer.concat([prefix, Buffer.from(json), Buffer.alloc(8)]))
    expect((await rejection(readSafetensorsHeader(file))).message).toContain(
      'tensor w spans 8 bytes but F32 [4] needs 16'
    )
    const bad = path.join(dir, 'bad-entry.safetensors')
    const json2 = JSON.stringify({ w: { dtype: 'F32', shape: 'x' } })
    const prefix2 = Buffer.alloc(8)
    prefix2.writeBigUInt64LE(BigInt(json2.length))
    await writeFile(bad, Buffer.concat([prefix2, Buffer.from(json2)]))
    expect((await rejection(readSafetensorsHeader(bad))).message).toContain(
      'tensor w has no valid dtype, shape and data_offsets'
    )
  })

  it('names a missing file', async () => {
    const file = path.join(dir, 'nope.safetensors')
    const err = await rejection(readSafetensorsHeader(file))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toContain(file)
    expect(err.message).toContain('ENOENT')
  })
})

describe('listWeightFiles', () => {
  it('lists every *.safetensors file, sorted, when there is no index', async () => {
    const m = path.join(dir, 'plain')
    await mkdir(m)
    await writeSafetensors(path.join(m, 'b.safetensors'), {})
    await writeSafetensors(path.join(m, 'a.safetensors'), {})
    await writeFile(path.join(m, 'config.json'), '{}')
    await mkdir(path.join(m, 'sub.safetensors'))
    expect(await listWeightFiles(m)).toEqual([
      path.join(m, 'a.safetensors'),
      path.join(m, 'b.safetensors')
    ])
  })

  it('lists the shards named by model.safetensors.index.json', async () => {
    const m = path.join(dir, 'sharded')
    await mkdir(m)
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
    for (const s of shards) await writeSafetensors(path.join(m, s), {})
    await writeSafetensors(path.join(m, 'stray.safetensors'), {})
    await writeFile(
      path.join(m, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 0 },
        weight_map: { 'b.weight': shards[1], 'a.weight': shards[0], 'c.weight': shards[1] }
      })
    )
    expect(await listWeightFiles(m)).toEqual(shards.map(s => path.join(m, s)))
  })

  it('names a shard the index lists but the directory lacks', async () => {
    const m = path.join(dir, 'missing-shard')
    await mkdir(m)
    await writeSafetensors(path.join(m, 'model-00001-of-00002.safetensors'), {})
    await writeFile(
      path.join(m, 'model.safetensors.index.json'),
      JSON.stringify({
        weight_map: {
          a: 'model-00001-of-00002.safetensors',
          b: 'model-00002-of-00002.safetensors'
        }
      })
    )
    const err = await rejection(listWeightFiles(m))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toContain(path.join(m, 'model-00002-of-00002.safetensors'))
    expect(err.message).toContain('is missing')
  })

  it('refuses a broken index', async () => {
    const m = path.join(dir, 'broken-index')
    await mkdir(m)
    await writeFile(path.join(m, 'model.safetensors.index.json'), '{"weight_map": ')
    expect((await rejection(listWeightFiles(m))).message).toContain('is not valid JSON')
    await writeFile(path.join(m, 'model.safetensors.index.json'), '{"metadata": {}}')
    expect((await rejection(listWeightFiles(m))).message).toContain('has no weight_map')
  })

  it('names a directory without weights, and a missing directory', async () => {
    const m = path.join(dir, 'no-weights')
    await mkdir(m)
    await writeFile(path.join(m, 'config.json'), '{}')
    const err = await rejection(listWeightFiles(m))
    expect(err).toBeInstanceOf(ActionError)
    expect(err.message).toBe(
      `Model directory ${m} holds no .safetensors files; point the input at an MLX model directory.`
    )
    const gone = path.join(dir, 'gone')
    expect((await rejection(listWeightFiles(gone))).message).toContain(gone)
  })
})
