/**
 * Builds a llama.cpp checkout with the action's own toolchain code (the same cmake build the
 * action makes for `llama-cpp-dir`), so CI compiles once per machine and the tests reuse it.
 * Usage: npm run prepare-llama -- <llama.cpp checkout>
 */
import { setupLlamaCpp } from '../src/gguf/toolchain.js'
import { DEFAULT_LLAMA_CPP_REF, LLAMA_CPP_REPO } from '../src/core/config.js'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: npm run prepare-llama -- <llama.cpp checkout>')
  process.exit(2)
}
const started = Date.now()
const llama = await setupLlamaCpp({
  dir,
  ref: DEFAULT_LLAMA_CPP_REF,
  repoUrl: LLAMA_CPP_REPO,
  toolCacheDir: dir
})
console.log(
  `llama.cpp ${llama.version} (${llama.commit.slice(0, 12)}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${llama.quantize}, ${llama.generator}; ${llama.types.names.length} quantization types`
)
