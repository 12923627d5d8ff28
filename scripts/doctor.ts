/**
 * `npm run doctor`: what this machine has for a fuse (the checks every run prints first). With
 * a run's inputs it also compares free disk and memory with that run's pre-flight estimate:
 *
 *   npm run doctor -- --base-model ./model [--dequantize] [--quantize-bits 4] [--gguf]
 *                     [--output-dir out] [--python P] [--convert-python P] [--llama-cpp-dir D]
 *
 * The estimate is the one a run computes and refuses on (src/plan/needs.ts); --gguf counts the
 * GGUF conversion's peak, as a run with the gguf input set does.
 *
 * LLAMA_CPP_DIR, when set, is the llama.cpp checkout looked at (as llama-cpp-dir).
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { formatDoctor, runDoctor } from '../src/doctor.js'
import { thisMachine } from '../src/core/machine.js'
import { startReadingBase } from '../src/plan/needs.js'
import { DEFAULT_LLAMA_CPP_REF, DEFAULT_MLX_LM_VERSION, toolCacheRoot } from '../src/core/config.js'

const { values } = parseArgs({
  options: {
    'base-model': { type: 'string' },
    'output-dir': { type: 'string', default: 'fused-model' },
    dequantize: { type: 'boolean', default: false },
    gguf: { type: 'boolean', default: false },
    'quantize-bits': { type: 'string' },
    python: { type: 'string' },
    'mlx-lm-version': { type: 'string', default: DEFAULT_MLX_LM_VERSION },
    'convert-python': { type: 'string' },
    'llama-cpp-dir': { type: 'string' },
    'llama-cpp-ref': { type: 'string', default: DEFAULT_LLAMA_CPP_REF }
  }
})
const llamaDir = values['llama-cpp-dir'] ?? process.env.LLAMA_CPP_DIR
const baseDir = values['base-model'] ? path.resolve(values['base-model']) : null
const inputs = {
  dequantize: values.dequantize,
  quantizeBits: values['quantize-bits'] ? Number(values['quantize-bits']) : null,
  gguf: values.gguf
}
const checks = await runDoctor({
  python: values.python ?? null,
  mlxLmVersion: values['mlx-lm-version'],
  convertPython: values['convert-python'] ?? null,
  llamaCppDir: llamaDir ? path.resolve(llamaDir) : null,
  llamaCppRef: values['llama-cpp-ref'],
  toolCacheDir: toolCacheRoot(),
  outputDir: path.resolve(values['output-dir']),
  base: baseDir ? { dir: baseDir, reading: startReadingBase(baseDir, inputs) } : null,
  machine: thisMachine()
})
for (const line of formatDoctor(checks)) console.log(line)
