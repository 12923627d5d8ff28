/**
 * `npm run doctor`: what this machine has for a fuse (the checks every run prints first). With
 * a run's inputs it also compares free disk and memory with that run's pre-flight estimate:
 *
 *   npm run doctor -- --base-model ./model [--dequantize] [--quantize-bits 4] [--output-dir out]
 *                     [--python P] [--convert-python P] [--llama-cpp-dir D]
 *
 * LLAMA_CPP_DIR, when set, is the llama.cpp checkout looked at (as llama-cpp-dir).
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { formatDoctor, runDoctor } from '../src/doctor.js'
import { DEFAULT_LLAMA_CPP_REF, DEFAULT_MLX_LM_VERSION, toolCacheRoot } from '../src/core/config.js'

const { values } = parseArgs({
  options: {
    'base-model': { type: 'string' },
    'output-dir': { type: 'string', default: 'fused-model' },
    dequantize: { type: 'boolean', default: false },
    'quantize-bits': { type: 'string' },
    python: { type: 'string' },
    'mlx-lm-version': { type: 'string', default: DEFAULT_MLX_LM_VERSION },
    'convert-python': { type: 'string' },
    'llama-cpp-dir': { type: 'string' },
    'llama-cpp-ref': { type: 'string', default: DEFAULT_LLAMA_CPP_REF }
  }
})
const llamaDir = values['llama-cpp-dir'] ?? process.env.LLAMA_CPP_DIR
const checks = await runDoctor({
  python: values.python ?? null,
  mlxLmVersion: values['mlx-lm-version'],
  convertPython: values['convert-python'] ?? null,
  llamaCppDir: llamaDir ? path.resolve(llamaDir) : null,
  llamaCppRef: values['llama-cpp-ref'],
  toolCacheDir: toolCacheRoot(),
  outputDir: path.resolve(values['output-dir']),
  baseModelDir: values['base-model'] ? path.resolve(values['base-model']) : null,
  dequantize: values.dequantize,
  quantizeBits: values['quantize-bits'] ? Number(values['quantize-bits']) : null
})
for (const line of formatDoctor(checks)) console.log(line)
