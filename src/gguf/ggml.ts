/**
 * ggml tensor types: block size (values per block) and bytes per block, as ggml's own
 * `ggml_blck_size` / `ggml_type_size` report them (read from a llama.cpp 0.4.0 build).
 * A tensor's data is `rows x row bytes`, a row being `ne0 / block size` blocks.
 */
export interface GgmlType {
  id: number
  /** ggml_type_name, e.g. `q4_K`. */
  name: string
  blockSize: number
  typeSize: number
}

const TABLE: Array<[number, string, number, number]> = [
  [0, 'f32', 1, 4],
  [1, 'f16', 1, 2],
  [2, 'q4_0', 32, 18],
  [3, 'q4_1', 32, 20],
  [6, 'q5_0', 32, 22],
  [7, 'q5_1', 32, 24],
  [8, 'q8_0', 32, 34],
  [9, 'q8_1', 32, 36],
  [10, 'q2_K', 256, 84],
  [11, 'q3_K', 256, 110],
  [12, 'q4_K', 256, 144],
  [13, 'q5_K', 256, 176],
  [14, 'q6_K', 256, 210],
  [15, 'q8_K', 256, 292],
  [16, 'iq2_xxs', 256, 66],
  [17, 'iq2_xs', 256, 74],
  [18, 'iq3_xxs', 256, 98],
  [19, 'iq1_s', 256, 50],
  [20, 'iq4_nl', 32, 18],
  [21, 'iq3_s', 256, 110],
  [22, 'iq2_s', 256, 82],
  [23, 'iq4_xs', 256, 136],
  [24, 'i8', 1, 1],
  [25, 'i16', 1, 2],
  [26, 'i32', 1, 4],
  [27, 'i64', 1, 8],
  [28, 'f64', 1, 8],
  [29, 'iq1_m', 256, 56],
  [30, 'bf16', 1, 2],
  [34, 'tq1_0', 256, 54],
  [35, 'tq2_0', 256, 66],
  [39, 'mxfp4', 32, 17],
  [40, 'nvfp4', 64, 36],
  [41, 'q1_0', 128, 18],
  [42, 'q2_0', 64, 18]
]

const BY_ID = new Map<number, GgmlType>()
const BY_NAME = new Map<string, GgmlType>()
for (const [id, name, blockSize, typeSize] of TABLE) {
  const t = { id, name, blockSize, typeSize }
  BY_ID.set(id, t)
  BY_NAME.set(name.toLowerCase(), t)
}

export const GGUF_DEFAULT_ALIGNMENT = 32

export function ggmlTypeById(id: number): GgmlType | undefined {
  return BY_ID.get(id)
}

/** Looks a type up by its ggml name (case-insensitive), e.g. `q4_K`, `F16`. */
export function ggmlTypeByName(name: string): GgmlType | undefined {
  return BY_NAME.get(name.toLowerCase())
}

/**
 * Bytes of one tensor's data (`ggml_nbytes` for a contiguous tensor), or null when the first
 * dimension is not a whole number of blocks (the file is then not a valid ggml layout).
 */
export function tensorBytes(type: GgmlType, shape: ReadonlyArray<number | bigint>): number | null {
  if (shape.length === 0) return type.typeSize
  const ne0 = Number(shape[0])
  if (ne0 % type.blockSize !== 0) return null
  let rows = 1
  for (let i = 1; i < shape.length; i++) rows *= Number(shape[i])
  return rows * (ne0 / type.blockSize) * type.typeSize
}

export function padTo(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment
}
