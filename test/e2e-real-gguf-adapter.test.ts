/**
 * `gguf-adapter: true` end to end with the real tools (issue 19), run() in-process with only
 * @actions/core replaced: the real mlx-lm fuses a tiny real model (test/fixtures/real.ts) with
 * adapters from the real `mlx_lm lora`, the real converters make the fused GGUF, the base's own
 * GGUF and the LoRA GGUF, and the real llama-completion loads the base with `--lora`. The two new
 * outputs are measured, budgeted under their own targets, in the manifest and the summary.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { gguf } from '@huggingface/gguf'
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as core from './__fixtures__/core.js'
import { readValidManifest } from './fixtures/manifest.js'
import { readFolder, startFakeHub } from './fixtures/hub.js'
import { DATA_DIR, convertPython, mlxPython, realAdapters, realModel } from './fixtures/real.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../src/main.js')
const { chatFacts, readGgufHeader } = await import('../src/gguf/verify.js')

const LLAMA_CPP_DIR = process.env.LLAMA_CPP_DIR!

interface Output {
  name: string
  kind: string
  path: string
  bytes: number
  format: string
  sha256: string
  status: string
  budget: string | null
}

afterEach(() => {
  core.reset()
  process.exitCode = undefined
})

async function runWith(
  inputs: Record<string, string>
): Promise<{ root: string; failed: string[]; summary: string }> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'gguf-adapter-')))
  Object.assign(core.inputs, {
    python: mlxPython(),
    'output-dir': path.join(root, 'fused-model'),
    'llama-cpp-dir': LLAMA_CPP_DIR,
    'convert-python': convertPython(),
    'smoke-test': 'true',
    upload: 'false',
    ...inputs
  })
  await run()
  return {
    root,
    failed: core.setFailed.mock.calls.map(call => String(call[0])),
    summary: core.summary.text
  }
}

describe('gguf-adapter with the real tools', () => {
  it('makes the LoRA GGUF and the base GGUF, measured, budgeted, loaded together', async () => {
    const base = await realModel('llama', 'bf16')
    const adapters = await realAdapters('llama', 'bf16', 'lora')
    const r = await runWith({
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      gguf: 'Q8_0',
      'gguf-adapter': 'true',
      'size-budget': 'gguf=1GB, lora=1MB, base=1kB',
      'on-over-budget': 'warn'
    })
    expect(r.failed).toEqual([])
    const manifest = await readValidManifest<{
      outputs: Output[]
      gguf: { adapter: Record<string, unknown> }
    }>(core.outputs.manifest)
    const byName = new Map(manifest.outputs.map(o => [o.name, o]))
    expect([...byName.keys()]).toEqual(['mlx', 'Q8_0', 'base', 'lora'])
    const lora = byName.get('lora')!
    const baseOut = byName.get('base')!
    expect(path.basename(lora.path)).toBe('fused-model-lora.gguf')
    expect(path.basename(baseOut.path)).toBe('fused-model-base.gguf')
    // Each measured from the file itself, with its checksum.
    for (const o of [lora, baseOut]) {
      const data = await fs.readFile(o.path)
      expect(o.bytes).toBe(data.length)
      expect(o.sha256).toBe(createHash('sha256').update(data).digest('hex'))
    }
    // Their own budget targets: gguf=1GB is for the fused Q8_0 only.
    expect(lora).toMatchObject({ status: 'within', budget: 'lora=1MB' })
    expect(baseOut).toMatchObject({ status: 'over', budget: 'base=1kB' })
    expect(byName.get('Q8_0')).toMatchObject({ status: 'within', budget: 'gguf=1GB' })
    // lora_alpha = scale × rank, in the manifest and in the file.
    expect(manifest.gguf.adapter).toEqual({
      rank: 8,
      alpha: 160,
      targetModules: expect.arrayContaining(['q_proj']),
      baseType: 'BF16',
      quantizedBaseBits: null
    })
    const metadata = (await gguf(lora.path, { allowLocalFile: true })).metadata as Record<
      string,
      unknown
    >
    expect(metadata['general.type']).toBe('adapter')
    expect(metadata['adapter.lora.alpha']).toBe(160)
    expect(baseOut.format).toMatch(/^GGUF BF16 \(llama\), the base model/)
    // The LoRA GGUF loaded with the base GGUF in llama-completion.
    const infos = core.info.mock.calls.map(call => String(call[0]))
    expect(infos).toContainEqual(
      expect.stringMatching(
        /^lora: llama\.cpp loaded fused-model-base\.gguf with --lora fused-model-lora\.gguf and generated/
      )
    )
    // Ollama Modelfiles beside them: the base alone, and the base with the LoRA as its ADAPTER,
    // stopping at the base GGUF's end-of-generation tokens.
    const loraModelfile = await fs.readFile(lora.path.replace(/\.gguf$/, '.Modelfile'), 'utf8')
    expect(loraModelfile.split('\n').slice(0, 2)).toEqual([
      'FROM ./fused-model-base.gguf',
      'ADAPTER ./fused-model-lora.gguf'
    ])
    const baseChat = chatFacts(await readGgufHeader(baseOut.path))
    expect(
      loraModelfile
        .split('\n')
        .filter(l => l.startsWith('PARAMETER stop "'))
        .map(l => l.slice('PARAMETER stop "'.length, -1))
    ).toEqual(baseChat.eogTexts)
    const baseModelfile = await fs.readFile(baseOut.path.replace(/\.gguf$/, '.Modelfile'), 'utf8')
    expect(baseModelfile.split('\n')[0]).toBe('FROM ./fused-model-base.gguf')
    expect(baseModelfile).not.toContain('ADAPTER')
    // The summary lists both with the verdicts.
    expect(r.summary).toContain('<code>lora</code>')
    expect(r.summary).toContain('<code>base</code>')
    // Nothing is left of the working folders beside gguf-dir.
    const left = (await fs.readdir(r.root)).filter(n => n.startsWith('.'))
    expect(left).toEqual([])
    await fs.rm(r.root, { recursive: true, force: true })
  }, 1_800_000)

  it('converts a 4-bit base de-quantized, with a note that llama.cpp applies the LoRA to 16-bit; with eval-data the LoRA GGUF is scored on its base', async () => {
    const base = await realModel('llama', '4bit')
    const adapters = await realAdapters('llama', '4bit', 'lora')
    const r = await runWith({
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      gguf: 'Q8_0',
      'gguf-adapter': 'true',
      'eval-data': path.join(DATA_DIR, 'train.jsonl'),
      'eval-tokens': '512'
    })
    expect(r.failed).toEqual([])
    const manifest = await readValidManifest<{
      outputs: Array<Output & { quality?: { meanKld: number; scoredBy: string } }>
      gguf: { adapter: { quantizedBaseBits: number | null; baseType: string } }
    }>(core.outputs.manifest)
    // The LoRA GGUF alone is no model: llama-perplexity scores the base GGUF with --lora, which
    // must come much nearer base + adapters (the reference) than the base GGUF alone.
    const scored = (name: string) => manifest.outputs.find(o => o.name === name)!.quality!
    expect(scored('lora').scoredBy).toBe('llama-perplexity')
    expect(scored('lora').meanKld).toBeLessThan(scored('base').meanKld / 2)
    expect(manifest.gguf.adapter.quantizedBaseBits).toBe(4)
    expect(r.summary).toContain(
      'gguf-adapter: the adapters were trained on a 4-bit base; llama.cpp applies the LoRA GGUF to the 16-bit base GGUF made here'
    )
    const baseOut = manifest.outputs.find(o => o.name === 'base')!
    expect(baseOut.format).toMatch(/^GGUF (F16|BF16) \(llama\)/)
    const groups = core.group.mock.calls.map(call => String(call[0]))
    expect(groups).toContain(
      'De-quantizing the base model to 16-bit for its GGUF (mlx_lm convert -d)'
    )
    expect(core.info.mock.calls.map(call => String(call[0]))).toContainEqual(
      expect.stringMatching(/^lora: llama\.cpp loaded fused-model-base\.gguf with --lora/)
    )
    // The de-quantized copy is gone: only the outputs are left beside each other.
    expect((await fs.readdir(r.root)).filter(n => n.startsWith('.'))).toEqual([])
    await fs.rm(r.root, { recursive: true, force: true })
  }, 1_800_000)

  it('converts a Hub base once per revision: a second run links the cached base GGUF in', async () => {
    const base = await realModel('llama', 'bf16')
    const adapters = await realAdapters('llama', 'bf16', 'lora')
    const commit = 'beef'.padEnd(40, '0')
    const hub = await startFakeHub({
      'org/llama-bf16': {
        refs: { main: commit },
        commits: { [commit]: await readFolder(base.dir) }
      }
    })
    const cacheRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'tool-cache-'))
    const saved = { ...process.env }
    Object.assign(process.env, {
      HF_ENDPOINT: hub.url,
      HF_HOME: path.join(cacheRoot, 'hf'),
      RUNNER_TOOL_CACHE: cacheRoot,
      // A runner whose tool cache outlives the job (a GitHub-hosted one does not cache).
      RUNNER_ENVIRONMENT: 'self-hosted'
    })
    try {
      const inputs = {
        'base-model': 'org/llama-bf16',
        'adapter-path': adapters.dir,
        gguf: 'Q8_0',
        'gguf-adapter': 'true'
      }
      const first = await runWith(inputs)
      expect(first.failed).toEqual([])
      const made = await readValidManifest<{ outputs: Output[] }>(core.outputs.manifest)
      const baseOut = made.outputs.find(o => o.name === 'base')!
      const infos = (): string[] => core.info.mock.calls.map(call => String(call[0]))
      expect(infos()).toContainEqual(expect.stringMatching(/base GGUF is kept in the cache/))
      const entries = (await fs.readdir(cacheRoot, { recursive: true })).filter(f =>
        f.endsWith('.gguf')
      )
      expect(entries).toEqual([
        expect.stringMatching(
          new RegExp(
            `^mlx-fuse-action/base-gguf/org--llama-bf16/${commit}/[0-9a-f]{40}/BF16\\.gguf$`
          )
        )
      ])
      // A hard link: the same file, no second copy of its bytes.
      const cached = await fs.stat(path.join(cacheRoot, entries[0]))
      expect(cached.ino).toBe((await fs.stat(baseOut.path)).ino)
      core.reset()
      const second = await runWith(inputs)
      expect(second.failed).toEqual([])
      expect(infos()).toContainEqual(expect.stringMatching(/taken from the cache/))
      const groups = core.group.mock.calls.map(call => String(call[0]))
      expect(groups.filter(t => /Converting the LoRA/.test(t))).toHaveLength(1)
      const again = await readValidManifest<{ outputs: Output[]; commands: { what: string }[] }>(
        core.outputs.manifest
      )
      expect(again.outputs.find(o => o.name === 'base')!.sha256).toBe(baseOut.sha256)
      expect(again.commands.map(c => c.what)).not.toContain('Convert the base')
      await fs.rm(first.root, { recursive: true, force: true })
      await fs.rm(second.root, { recursive: true, force: true })
    } finally {
      process.env = saved
      await hub.close()
      await fs.rm(cacheRoot, { recursive: true, force: true })
    }
  }, 1_800_000)

  it('refuses DoRA adapters before the first fuse, in one sentence', async () => {
    const base = await realModel('llama', 'bf16')
    const adapters = await realAdapters('llama', 'bf16', 'dora')
    const r = await runWith({
      'base-model': base.dir,
      'adapter-path': adapters.dir,
      gguf: 'Q8_0',
      'gguf-adapter': 'true'
    })
    expect(r.failed).toEqual([
      expect.stringMatching(
        /^Input gguf-adapter is true but adapter-path ".*" holds a DoRA fine-tune, which llama\.cpp cannot apply as a LoRA adapter; /
      )
    ])
    const groups = core.group.mock.calls.map(call => String(call[0]))
    expect(groups.filter(t => /^Fusing/.test(t))).toEqual([])
    await expect(fs.stat(path.join(r.root, 'fused-model'))).rejects.toThrow(/ENOENT/)
  }, 600_000)
})
