/**
 * `npm run test:unit` (scripts/test-unit.mjs): every test that runs in this process and starts no
 * real tool, in well under a minute. Out: the files that need llama.cpp, the Python environments
 * of locks/ or pip (the global set-up builds none of them here), and, by name, the cases that
 * spawn dist/index.js or run pip (UNIT_SKIPS, matched by scripts/test-unit.mjs). In: the unit and
 * orchestration tests, and the in-process scenario suites whose only processes are the Python
 * fixtures and the mlx_lm stand-in (a fuse of the tiny model takes a fraction of a second).
 * `npm test` stays the whole suite.
 */
import base from './jest.config.js'

/** Test files that start llama.cpp, a real mlx-lm, pip, a fresh clone or the bundle. */
export const REAL_TOOL_FILES = [
  'bench', // llama.cpp
  'gguf/chat-turn', // llama.cpp and the converter
  'gguf/convert-env', // the converter's Python environment
  'doctor', // llama.cpp
  'e2e-artifacts', // llama.cpp
  'e2e-cancel', // signals to dist/index.js
  'e2e-gguf', // llama.cpp
  'e2e-real', // real mlx-lm and llama.cpp (e2e-real-*)
  'e2e-split', // llama.cpp
  'mlx/envs', // the Python environments of locks/
  'fixtures', // the fixtures themselves, pip into a fresh venv
  'fresh-clone', // npm ci in a clone
  'gguf/pipeline', // llama.cpp
  'gguf/toolchain', // llama.cpp
  'gguf/quant-types', // llama.cpp's llama-quantize and llama.h
  'global-setup', // builds llama.cpp in a scratch cache
  'core/python', // venvs of other Pythons
  'mlx/real-precision', // real mlx-lm
  'scenarios', // llama-quantize and llama-gguf-split
  'core/venv', // pip
  'quality/quality', // real mlx-lm and llama-perplexity
  'quality/e2e-quality', // the same, through run()
  'quality/stage', // the same
  'gguf/auto-quality', // real mlx-lm, llama-quantize and llama-perplexity
  'quality/erased-adapter' // real mlx-lm and llama.cpp
]

export default {
  ...base,
  globalSetup: '<rootDir>/test/global-setup-unit.js',
  testPathIgnorePatterns: [
    '/node_modules/',
    ...REAL_TOOL_FILES.map(f => `/test/${f}[^/]*\\.test\\.ts$`)
  ],
  collectCoverage: false
}
