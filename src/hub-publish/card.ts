/**
 * The model card: a README.md for the Hub made from the manifest alone (plus the adapters'
 * checksums and the base's license), so it says exactly what the run measured. Written beside the
 * model folder as `<output-dir>.README.md`: mlx-lm writes its own README.md inside the folder, and
 * a card cannot list the checksum of the folder that holds it.
 */
import path from 'node:path'
import { formatSize } from '../core/size.js'
import type { ManifestOutputV1, ManifestV1 } from '../report/index.js'

export interface CardFacts {
  manifest: ManifestV1
  /** The outputs the repository this card goes to holds. */
  outputs: readonly ManifestOutputV1[]
  /** SPDX-style id from the base's own card or config, or null. */
  license: string | null
  /** sha256 of each adapter file, by name. */
  adapterSums: Record<string, string>
  /** The workflow run that made the files, or null outside GitHub Actions. */
  runUrl: string | null
}

/** The card's text: YAML front matter the Hub reads, then the measured facts. */
export function modelCard(f: CardFacts): string {
  const m = f.manifest
  const hasMlx = f.outputs.some(o => o.kind === 'mlx')
  const hasGguf = f.outputs.some(o => o.kind === 'gguf')
  const baseRepo = m.baseModelSource?.repo ?? null
  const front = [
    '---',
    ...(hasMlx ? ['library_name: mlx'] : []),
    ...(baseRepo ? [`base_model: ${yamlString(baseRepo)}`] : []),
    ...(f.license ? [`license: ${yamlString(f.license)}`] : []),
    'tags:',
    ...(hasMlx ? ['- mlx'] : []),
    ...(hasGguf ? ['- gguf'] : []),
    '- lora',
    '- mlx-fuse-action',
    '---'
  ]
  const base = baseRepo
    ? `[${md(baseRepo)}](https://huggingface.co/${baseRepo}) at commit \`${m.baseModelSource?.commit ?? ''}\``
    : `a local base model (${code(path.basename(m.baseModel))})`
  return [
    ...front,
    '',
    `# ${md(path.basename(m.folders.outputDir))}`,
    '',
    `LoRA adapters fused into ${base} with mlx-lm ${md(m.mlxLm.version)}` +
      (hasGguf && m.llamaCpp
        ? `, converted to GGUF with llama.cpp ${md(m.llamaCpp.version)} (\`${m.llamaCpp.commit.slice(0, 12)}\`)`
        : '') +
      ', by mlx-fuse-action. Every size below is measured from the files themselves: kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.',
    '',
    '## Files',
    '',
    '| Output | Format | Size | Bits per weight | Budget | Verdict |',
    '|---|---|---|---|---|---|',
    ...f.outputs.map(row),
    '',
    ...checksums(f.outputs),
    '## How it was made',
    '',
    ...made(f),
    ...(m.diagnoses.length > 0
      ? ['', '## Findings', '', ...m.diagnoses.map(d => `- **${md(d.title)}.** ${md(d.text)}`)]
      : []),
    ''
  ].join('\n')
}

function row(o: ManifestOutputV1): string {
  const budget = o.budget ? `${formatSize(o.budgetBytes ?? 0)} (${code(o.budget)})` : '—'
  const verdict =
    o.status === 'within' ? 'within budget' : o.status === 'over' ? 'over budget' : 'no budget'
  const bpw = o.bitsPerWeight === null ? '—' : o.bitsPerWeight.toFixed(2)
  return `| ${code(o.name)} | ${md(o.format)} | ${formatSize(o.bytes)} (${o.bytes.toLocaleString('en-US')} bytes) | ${bpw} | ${budget} | ${verdict} |`
}

/** `sha256sum -c` lines for every file, in the repository's own layout. */
function checksums(outputs: readonly ManifestOutputV1[]): string[] {
  const lines: string[] = []
  for (const o of outputs) {
    if (o.kind === 'mlx') {
      // The folder's own README.md (mlx-lm's) is not published: this card takes its place.
      for (const [file, sum] of Object.entries(o.sha256Files ?? {}).sort())
        if (file !== 'README.md') lines.push(`${sum}  ${file}`)
    } else if (o.shards) {
      for (const s of o.shards) lines.push(`${s.sha256}  ${path.basename(s.path)}`)
    } else if (o.sha256) {
      lines.push(`${o.sha256}  ${path.basename(o.path)}`)
    }
  }
  if (lines.length === 0) return []
  return [
    'SHA-256 of every file (`sha256sum -c` reads these lines):',
    '',
    '```',
    ...lines,
    '```',
    ''
  ]
}

function made(f: CardFacts): string[] {
  const m = f.manifest
  const a = m.fuse.adapters as {
    fineTuneType?: string
    rank?: number
    scale?: number
    numLayers?: number
  }
  const fuse = m.fuse.dequantize
    ? m.fuse.quantizeBits
      ? `de-quantized, then re-quantized to ${m.fuse.quantizeBits} bits (group ${m.fuse.quantizeGroupSize})`
      : 'de-quantized (16-bit)'
    : "keeping the base's precision"
  const gguf = m.gguf as { types?: string[] } | null
  return [
    `- Adapters: ${md(a.fineTuneType ?? 'lora')}${a.rank !== undefined ? `, rank ${a.rank}` : ''}${a.scale !== undefined ? `, scale ${a.scale}` : ''}${a.numLayers !== undefined ? `, ${a.numLayers} layers` : ''}`,
    ...Object.entries(f.adapterSums)
      .sort()
      .map(([file, sum]) => `  - ${code(file)} sha256 \`${sum}\``),
    `- Fuse: \`mlx_lm fuse\`, ${fuse}`,
    ...(gguf?.types ? [`- GGUF types: ${gguf.types.map(t => `${code(t)}`).join(', ')}`] : []),
    `- Size budgets: ${budgets(m)}`,
    `- Tools: mlx-lm ${md(m.mlxLm.version)}${m.llamaCpp ? `, llama.cpp ${md(m.llamaCpp.version)} (\`${m.llamaCpp.commit}\`)` : ''}`,
    ...(m.runCommit ? [`- Source commit: \`${m.runCommit}\``] : []),
    ...(f.runUrl ? [`- Workflow run: ${f.runUrl}`] : [])
  ]
}

function budgets(m: ManifestV1): string {
  if (m.outputs.every(o => o.status === 'no-budget')) return 'none set'
  if (m.withinBudget) return 'every budgeted output within its budget'
  return `not every output within its budget (on-over-budget: ${m.onOverBudget})`
}

/** A YAML double-quoted scalar (JSON's string syntax is valid YAML). */
function yamlString(text: string): string {
  return JSON.stringify(text)
}

/** Text from files or tools made inert in Markdown: no tags, table cells or code spans broken. */
function md(text: string): string {
  return text.replace(/[\\`*_[\]<>|]/g, c => `\\${c}`).replace(/[\r\n]+/g, ' ')
}

/** A code span of text from files or tools: backticks and line breaks cannot end or break it. */
function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/[\r\n]+/g, ' ')}\``
}
