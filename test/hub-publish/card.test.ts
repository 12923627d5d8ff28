/** The model card from a manifest: front matter the Hub reads, measured rows, inert text. */
import { describe, expect, it } from '@jest/globals'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { modelCard } from '../../src/hub-publish/card.js'
import { baseLicense } from '../../src/hub-publish/license.js'
import type { ManifestOutputV1, ManifestV1 } from '../../src/report/index.js'

/** A GGUF folder on the runner: the card names files, never the runner's paths. */
const OUT = path.join(os.tmpdir(), 'gguf-out')

const gguf: ManifestOutputV1 = {
  name: 'Q4_K_M',
  kind: 'gguf',
  path: path.join(OUT, 'm-Q4_K_M-00001-of-00002.gguf'),
  bytes: 2_000_000_000,
  files: 2,
  format: 'GGUF Q4_K_M (llama) | <b>x</b>',
  parameters: 3_000_000_000,
  bitsPerWeight: 5.333,
  shards: [
    {
      path: path.join(OUT, 'm-Q4_K_M-00001-of-00002.gguf'),
      bytes: 1_500_000_000,
      sha256: 'a'.repeat(64)
    },
    {
      path: path.join(OUT, 'm-Q4_K_M-00002-of-00002.gguf'),
      bytes: 500_000_000,
      sha256: 'b'.repeat(64)
    }
  ],
  budgetBytes: 2_200_000_000,
  budget: 'gguf=2.2GB',
  headroomBytes: 200_000_000,
  status: 'within'
}

const manifest = {
  folders: { outputDir: path.join(os.tmpdir(), 'assistant-3b'), ggufDir: OUT, intermediates: null },
  baseModel: 'meta-llama/Llama-3.2-3B-Instruct',
  baseModelSource: { repo: 'meta-llama/Llama-3.2-3B-Instruct', commit: 'f'.repeat(40) },
  mlxLm: { version: '0.32.2', python: 'p', source: 'input' },
  llamaCpp: { version: '0.4.0', commit: '80fb11ac73e66d89eae2c6a91d8a77428fa733ed', dir: 'd' },
  fuse: {
    dequantize: true,
    quantizeBits: null,
    quantizeGroupSize: 64,
    adapters: { fineTuneType: 'lora', rank: 16 }
  },
  gguf: { types: ['Q4_K_M'] },
  withinBudget: true,
  onOverBudget: 'fail',
  runCommit: null,
  outputs: [gguf],
  diagnoses: []
} as unknown as ManifestV1

describe('modelCard', () => {
  const card = modelCard({
    manifest,
    outputs: [gguf],
    license: 'llama3.2',
    adapterSums: {},
    runUrl: null
  })

  it('writes the front matter the Hub reads: base_model, license, tags, no library_name for GGUF only', () => {
    expect(card.split('\n---\n')[0]).toBe(
      '---\nbase_model: "meta-llama/Llama-3.2-3B-Instruct"\nlicense: "llama3.2"\ntags:\n- gguf\n- lora\n- mlx-fuse-action'
    )
  })

  it('lists sizes in both units with exact bytes, and every shard checksum by file name', () => {
    expect(card).toContain('| `Q4_K_M` |')
    expect(card).toContain(
      '2.00 GB (1.86 GiB) (2,000,000,000 bytes) | 5.33 | 2.20 GB (2.05 GiB) (`gguf=2.2GB`) | within budget |'
    )
    expect(card).toContain(
      `${'a'.repeat(64)}  m-Q4_K_M-00001-of-00002.gguf\n${'b'.repeat(64)}  m-Q4_K_M-00002-of-00002.gguf`
    )
    expect(card).not.toContain(OUT)
    expect(card).toContain('- Fuse: `mlx_lm fuse`, de-quantized (16-bit)')
  })

  it('keeps text from files inert: no table cell or tag breaks out', () => {
    expect(card).toContain('GGUF Q4\\_K\\_M (llama) \\| \\<b\\>x\\</b\\>')
    expect(card).not.toContain('<b>')
  })
})

describe('baseLicense', () => {
  it("reads the base card's front matter, else config.json, else nothing", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'license-'))
    expect(await baseLicense(dir)).toBeNull()
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ license: 'mit' }))
    expect(await baseLicense(dir)).toBe('mit')
    await fs.writeFile(
      path.join(dir, 'README.md'),
      "---\nlanguage: en\nlicense: 'gemma'\n---\nlicense: other\n"
    )
    expect(await baseLicense(dir)).toBe('gemma')
    await fs.writeFile(path.join(dir, 'README.md'), '---\nlicense: "x y; rm"\n---\n')
    expect(await baseLicense(dir)).toBe('mit')
  })
})
