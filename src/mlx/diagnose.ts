/** Explains in plain words why the fused model has the precision and size it has. */
import { estimateQuantizedBytes, FLOAT_NAMES } from './precision.js'
import { formatCount, formatSize } from '../core/size.js'
import type { Diagnosis, FuseFacts } from '../core/types.js'

const bpw = (bytes: number, params: number): string =>
  params > 0 ? `${((bytes * 8) / params).toFixed(2)} bits per weight` : 'unknown bits per weight'

const dtypeName = (dtype: string | null): string =>
  (dtype && FLOAT_NAMES[dtype]) || dtype || 'float'

export function diagnose(f: FuseFacts): Diagnosis[] {
  const { stats, bytes, precision } = f.fused
  const params = stats.parameters
  const measured = `${formatSize(bytes)}, ${bpw(bytes, params)} for ${formatCount(params)} parameters`
  const out: Diagnosis[] = []
  const baseBits = f.baseQuantization?.bits ?? null

  if (!stats.quantized && !f.dequantize) {
    const bits = f.quantizeBits ?? 4
    const group = f.quantizeBits ? f.quantizeGroupSize : 64
    const expected = estimateQuantizedBytes(params, bits, group)
    const what = `dequantize is false, but the base model ${f.baseModel} was never quantized (its weights are ${dtypeName(stats.floatDtype)}), so mlx_lm fuse kept full precision: ${measured}.`
    if (f.requantized) {
      out.push({
        level: 'notice',
        title: `Full-precision base, re-quantized to ${f.requantized.bits}-bit as asked`,
        text: `${what} quantize-bits re-quantized it to ${f.requantized.bits}-bit (group ${f.requantized.groupSize}): ${formatSize(f.requantized.bytes)}, ${bpw(f.requantized.bytes, params)}.`
      })
    } else {
      out.push({
        level: 'warning',
        output: 'mlx',
        title: 'The fused model is full precision because the base model was never quantized',
        text: `${what} A ${bits}-bit quantization of the same weights would take about ${formatSize(expected)}. To get the small model, fuse into a quantized base (for example a 4-bit MLX conversion of the same model), or set quantize-bits: ${bits} to re-quantize the fused model.`
      })
    }
    return out
  }

  if (f.dequantize) {
    const base =
      baseBits === null
        ? f.baseQuantization
          ? ' The base was never quantized, so de-quantizing changed nothing.'
          : ''
        : ` The base was ${baseBits}-bit; without dequantize the fused model would stay ${baseBits}-bit, about ${formatSize(estimateQuantizedBytes(params, baseBits, f.baseQuantization?.groupSize ?? 64, 2, f.baseQuantization?.mode ?? null))}.`
    const again = f.requantized
      ? ` quantize-bits then re-quantized it to ${f.requantized.bits}-bit: ${formatSize(f.requantized.bytes)}, ${bpw(f.requantized.bytes, params)}.`
      : ''
    out.push({
      level: 'notice',
      title: 'De-quantized as asked: the fused model is full precision',
      text: `dequantize is true, so every layer was fused at full precision (${dtypeName(stats.floatDtype)}): ${measured}.${base}${again}`
    })
    return out
  }

  const q = f.fused.quantization
  const lines = [
    `The fused model keeps the base's quantization (${precision}): ${measured}. mlx_lm de-quantized each adapted layer, added the adapters and re-quantized it with the same settings.`
  ]
  if ((q.bits ?? 8) <= 4) {
    lines.push(
      `At ${q.bits} bits that re-quantization can round most of the adapters' change away (mlx-lm issue 1172): if the fused model behaves like the base, set dequantize: true with quantize-bits: ${q.bits}, which quantizes the fully fused weights instead.`
    )
  }
  if (f.quantizeBits) {
    lines.push(
      `quantize-bits: ${f.quantizeBits} was not applied: it re-quantizes only a full-precision fused model, and this one is already quantized.`
    )
  }
  out.push({ level: 'notice', title: "Kept the base model's quantization", text: lines.join(' ') })
  return out
}
