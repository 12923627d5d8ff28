/** Reads a GGUF file's header (@huggingface/gguf) and checks it is whole before it is reported. */
import { open, stat } from 'node:fs/promises'
import * as path from 'node:path'

import { ActionError } from '../core/types.js'
import { GGUF_DEFAULT_ALIGNMENT, ggmlTypeById, padTo, tensorBytes } from './ggml.js'
import { eogTokenIds } from './eog.js'
import type { SourceFacts } from './source.js'
import { ftypeOf } from './quant-types.js'

export interface GgufFacts {
  bytes: number
  parameters: number
  tensorCount: number
  architecture: string
  /** `general.file_type` (llama_ftype). */
  fileType: number
  /** What runtimes chat with (the file that carries the metadata: a whole file or shard 1). */
  chat?: ChatFacts
}

/** What a runtime chats with, from a GGUF's metadata. */
export interface ChatFacts {
  /** `tokenizer.chat_template`, or null when the file carries none. */
  template: string | null
  /** The ids llama.cpp ends generation at (see eog.ts), ascending. */
  eog: number[]
  /** Their token texts, in the same order. */
  eogTexts: string[]
}

/** The chat template and end-of-generation tokens of a GGUF header. */
export function chatFacts(h: GgufHeader): ChatFacts {
  const raw = h.metadata['tokenizer.ggml.tokens']
  const tokens = Array.isArray(raw) ? raw.map(t => String(t)) : []
  const eog = eogTokenIds({ tokens, metadata: h.metadata })
  const template = h.metadata['tokenizer.chat_template']
  return {
    template: typeof template === 'string' ? template : null,
    eog,
    eogTexts: eog.map(id => tokens[id])
  }
}

/** The runtimes that read a GGUF's chat template and stop tokens. */
const CHAT_RUNTIMES = 'Ollama, LM Studio and the llama.cpp server'

/**
 * Warnings about chatting with a GGUF made from `source`: no chat template (the model has none,
 * or the file lost it), or a token the model stops generation at that llama.cpp does not.
 */
export function chatWarnings(name: string, chat: ChatFacts, source: SourceFacts): string[] {
  const warnings: string[] = []
  if (source.chatTemplate === null) {
    warnings.push(
      `The GGUF files have no chat template because the fused model has none (its tokenizer files hold no chat_template.jinja, nor a chat_template in tokenizer_config.json): ${CHAT_RUNTIMES} will format chats with a default the model was not trained on; use a base model whose tokenizer has a chat template, or add chat_template.jinja to the base model's folder.`
    )
  } else if (chat.template === null) {
    warnings.push(
      `${name} lost the model's chat template in the conversion (no tokenizer.chat_template): ${CHAT_RUNTIMES} will format chats with a default that the model was not trained on; check the converter's output above.`
    )
  }
  const stops = [...new Set([...source.stopIds, ...(source.eos === null ? [] : [source.eos])])]
  const missing = stops.filter(id => !chat.eog.includes(id))
  if (missing.length > 0) {
    warnings.push(
      `${name} does not end generation at token id ${missing.join(', ')}, where the model stops (its end-of-generation set is ${chat.eog.join(', ') || 'empty'}): ${CHAT_RUNTIMES} may run past the end of a turn; check the model's eos_token_id in generation_config.json.`
    )
  }
  return warnings
}

/** The header as @huggingface/gguf reads it, with the byte positions verification needs. */
export interface GgufHeader {
  version: number
  metadata: Record<string, unknown>
  /** GGUF value type of each metadata key (4 = u32, 8 = string, 9 = array, ...). */
  kvTypes: Record<string, number>
  tensors: Array<{ name: string; shape: number[]; dtype: number; offset: number }>
  /** Start of the tensor infos (after the KV pairs). */
  tensorInfoStart: number
  /** End of the tensor infos, before padding. */
  headerEnd: number
  tensorDataOffset: number
  alignment: number
  parameters: number
}

/** Reads only a GGUF file's header (`@huggingface/gguf`, a local file, a few ranged reads). */
export async function readGgufHeader(file: string): Promise<GgufHeader> {
  const name = path.basename(file)
  const fh = await open(file, 'r').catch((err: Error) => {
    throw new ActionError({
      problem: `Cannot open the GGUF file ${file} (${err.message})`,
      fix: `check that it was written`
    })
  })
  let magic: string
  let version: number
  try {
    const head = Buffer.alloc(8)
    const { bytesRead } = await fh.read(head, 0, 8, 0)
    magic = head.subarray(0, Math.min(bytesRead, 4)).toString('latin1')
    version = bytesRead >= 8 ? head.readUInt32LE(4) : -1
  } finally {
    await fh.close()
  }
  if (magic !== 'GGUF') {
    throw new ActionError({
      problem: `${name} is not a GGUF file (it starts with ${JSON.stringify(magic)}, not "GGUF")`,
      fix: `regenerate it`
    })
  }
  if (version !== 2 && version !== 3) {
    throw new ActionError({
      problem: `${name} has GGUF version ${version}, not 2 or 3`,
      fix: `regenerate it with a current llama.cpp`
    })
  }
  // Loaded here, not at start-up: it brings @huggingface/tasks' tables (half a megabyte).
  const { gguf } = await import('@huggingface/gguf')
  let parsed
  try {
    parsed = await gguf(file, {
      allowLocalFile: true,
      computeParametersCount: true,
      typedMetadata: true
    })
  } catch (err) {
    throw new ActionError({
      problem: `The GGUF header of ${name} cannot be read (${(err as Error).message})`,
      fix: `the file is damaged or cut short, regenerate it`
    })
  }
  const metadata = parsed.metadata as unknown as Record<string, unknown>
  const rawAlign = metadata['general.alignment']
  const alignment = rawAlign === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(rawAlign)
  const kvTypes: Record<string, number> = {}
  for (const [key, entry] of Object.entries(parsed.typedMetadata)) {
    kvTypes[key] = Number((entry as { type: number }).type)
  }
  return {
    version,
    metadata,
    kvTypes,
    tensors: parsed.tensorInfos.map(t => ({
      name: t.name,
      shape: t.shape.map(d => Number(d)),
      dtype: t.dtype as number,
      offset: Number(t.offset)
    })),
    tensorInfoStart: parsed.tensorInfoByteRange[0],
    headerEnd: parsed.tensorInfoByteRange[1],
    tensorDataOffset: Number(parsed.tensorDataOffset),
    alignment,
    parameters: parsed.parameterCount
  }
}

/** Which shard of a split model a file is (1-based), as its `split.no` / `split.count` must say. */
export interface ShardPosition {
  index: number
  count: number
}

/**
 * Checks a GGUF file from its header alone: magic and version, `general.file_type` equal to the
 * expected type's llama_ftype, tensors and parameters present, `general.architecture` set, and
 * the tensor data (each tensor at its aligned offset) ending exactly at the end of the file, so
 * a file cut anywhere, in the header or in the data, is caught. For a shard of a split model
 * (`shard`), also its split.no and split.count; only the first shard carries the metadata.
 * Given the model it was converted from (`source`, for a whole file), also that it holds the
 * source's tensors, vocabulary, chat template and special token ids (see checkSource).
 */
export async function verifyGguf(
  file: string,
  expectedType: string,
  shard?: ShardPosition,
  source?: SourceFacts
): Promise<GgufFacts> {
  const name = path.basename(file)
  const expectedFtype = ftypeOf(expectedType)
  if (expectedFtype === undefined) {
    throw new ActionError({
      problem: `Cannot verify ${name}: '${expectedType}' is not a llama.cpp GGUF type name`
    })
  }
  const h = await readGgufHeader(file)
  const bytes = (await stat(file)).size

  if (h.headerEnd > bytes || h.tensorDataOffset > bytes) {
    throw new ActionError({
      problem: `${name} is cut short: its header runs to byte ${h.headerEnd} but the file has ${bytes} bytes`,
      fix: `regenerate it`
    })
  }
  if (
    !Number.isInteger(h.alignment) ||
    h.alignment <= 0 ||
    (h.alignment & (h.alignment - 1)) !== 0
  ) {
    throw new ActionError({
      problem: `${name} has an invalid general.alignment ${String(h.metadata['general.alignment'])}`,
      fix: `regenerate it`
    })
  }
  if (shard) checkSplitKeys(name, h, shard)
  const metadataHere = !shard || shard.index === 1
  const architecture = metadataHere ? h.metadata['general.architecture'] : ''
  if (metadataHere && (typeof architecture !== 'string' || architecture === '')) {
    throw new ActionError({
      problem: `${name} has no general.architecture in its header`,
      fix: `regenerate it with llama.cpp's converter`
    })
  }
  const fileType = metadataHere ? h.metadata['general.file_type'] : expectedFtype
  if (fileType === undefined) {
    throw new ActionError({
      problem: `${name} has no general.file_type in its header, so its type cannot be checked`,
      fix: `regenerate it`
    })
  }
  if (Number(fileType) !== expectedFtype) {
    throw new ActionError({
      problem: `${name} has general.file_type ${String(fileType)}, not ${expectedFtype} (${expectedType.toUpperCase()})`,
      fix: `the file holds another type than its name says, regenerate it`
    })
  }
  if (h.tensors.length === 0 || h.parameters <= 0) {
    throw new ActionError({
      problem: `${name} holds no tensors (${h.tensors.length} tensors, ${h.parameters} parameters)`,
      fix: `regenerate it`
    })
  }

  checkTensorLayout(name, h, bytes)
  if (source && !shard) checkSource(name, h, source)
  return {
    bytes,
    parameters: h.parameters,
    tensorCount: h.tensors.length,
    architecture: String(architecture),
    fileType: Number(fileType),
    ...(metadataHere ? { chat: chatFacts(h) } : {})
  }
}

/**
 * Every tensor at an aligned offset, one after another, of a known type and a shape that fits
 * its blocks, the data ending at the end of the file (or at its padded end).
 */
function checkTensorLayout(name: string, h: GgufHeader, bytes: number): void {
  const sorted = [...h.tensors].sort((a, b) => a.offset - b.offset)
  const names = new Set<string>()
  let expectedOffset = 0
  let dataEnd = 0
  for (const t of sorted) {
    if (t.name === '' || names.has(t.name)) {
      throw new ActionError({
        problem: `${name} has a damaged tensor table (empty or repeated tensor name '${t.name}')`,
        fix: `regenerate it`
      })
    }
    names.add(t.name)
    const type = ggmlTypeById(t.dtype)
    if (!type) {
      throw new ActionError({
        problem: `${name} has tensor ${t.name} of unknown ggml type ${t.dtype}`,
        fix: `regenerate it or use a newer llama.cpp`
      })
    }
    const size = tensorBytes(type, t.shape)
    if (size === null) {
      throw new ActionError({
        problem: `${name} has tensor ${t.name} whose shape [${t.shape.join(', ')}] does not fit ${type.name} blocks`,
        fix: `regenerate it`
      })
    }
    if (t.offset !== expectedOffset) {
      throw new ActionError({
        problem: `${name} has tensor ${t.name} at data offset ${t.offset}, expected ${expectedOffset}`,
        fix: `the tensor table is damaged, regenerate it`
      })
    }
    dataEnd = h.tensorDataOffset + t.offset + size
    expectedOffset = padTo(t.offset + size, h.alignment)
  }
  const paddedEnd = h.tensorDataOffset + expectedOffset
  if (bytes !== paddedEnd && bytes !== dataEnd) {
    const how = bytes < dataEnd ? 'is cut short' : 'has trailing bytes'
    throw new ActionError({
      problem: `${name} ${how}: its header describes ${paddedEnd} bytes but the file has ${bytes}`,
      fix: `regenerate it`
    })
  }
}

/** llama-gguf-split numbers shards from 0 in `split.no` and writes the total in `split.count`. */
function checkSplitKeys(name: string, h: GgufHeader, shard: ShardPosition): void {
  const no = h.metadata['split.no']
  const count = h.metadata['split.count']
  if (Number(no) !== shard.index - 1 || Number(count) !== shard.count) {
    throw new ActionError({
      problem: `${name} says it is shard split.no=${String(no)} of split.count=${String(count)}, not shard ${shard.index - 1} of ${shard.count} as its name says`,
      fix: `the split is damaged, run again`
    })
  }
}

/**
 * The converted file against the model it was converted from: as many tensors with the same
 * shapes (GGUF lists a tensor's dimensions innermost first, safetensors outermost first; the
 * converter renames tensors but keeps each one whole for the architectures tested here), one token
 * per `vocab_size` entry, the chat template byte for byte (when it has one), the same BOS and EOS ids, and an
 * end-of-turn id (when written) among the ids generation stops at.
 */
export function checkSource(name: string, h: GgufHeader, source: SourceFacts): void {
  const from = `the model it was converted from (${source.dir})`
  const fail = (what: string): never => {
    throw new ActionError({
      problem: `${name} ${what} ${from}: the conversion lost or changed it`,
      fix: `regenerate it`
    })
  }
  const shapes = h.tensors.map(t => t.shape.join('x')).sort()
  if (shapes.length !== source.tensorCount) {
    fail(`holds ${shapes.length} tensors, not the ${source.tensorCount} of`)
  }
  const differ = shapes.findIndex((s, i) => s !== source.shapes[i])
  if (differ >= 0 || h.parameters !== source.parameters) {
    fail(
      `holds ${h.parameters} parameters (a tensor of shape ${shapes[differ] ?? '?'}), not the ${source.parameters} of`
    )
  }
  const tokens = h.metadata['tokenizer.ggml.tokens']
  const count = Array.isArray(tokens) ? tokens.length : 0
  if (source.vocabSize !== null && count !== source.vocabSize) {
    fail(`has a vocabulary of ${count} tokens, not the vocab_size ${source.vocabSize} of`)
  }
  const template = h.metadata['tokenizer.chat_template']
  // A template the file lost is a warning (chatWarnings); one it changed is a broken conversion.
  if (
    source.chatTemplate !== null &&
    typeof template === 'string' &&
    template !== source.chatTemplate
  ) {
    fail('has another chat template than')
  }
  const eot = h.metadata['tokenizer.ggml.eot_token_id']
  for (const [key, want] of [
    ['bos', source.bos],
    ['eos', source.eos]
  ] as const) {
    const got = h.metadata[`tokenizer.ggml.${key}_token_id`]
    // gguf-py moves the EOS to end-of-turn when the tokenizer's post-processor ends a sequence
    // with another token (ggml-org/llama.cpp v0.4.0 gguf-py/gguf/vocab.py, SpecialVocab)
    const moved = key === 'eos' && eot !== undefined && Number(eot) === want
    if (want !== null && Number(got) !== want && !moved) {
      fail(`has ${key.toUpperCase()} token id ${String(got)}, not the ${want} of`)
    }
  }
  const stops = [...source.stopIds, ...(source.eos === null ? [] : [source.eos])]
  if (eot !== undefined && stops.length > 0 && !stops.includes(Number(eot))) {
    fail(
      `has end-of-turn token id ${String(eot)}, none of the ids ${stops.join(', ')} generation stops at in`
    )
  }
}
