/** Everything the GGUF path needs, checked before any fuse: folders, toolchain, types, Python. */
import { promises as fs } from 'node:fs'
import { LLAMA_CPP_REPO, toolCacheRoot, type GgufConfig } from '../core/config.js'
import { ActionError } from '../core/types.js'
import { resolveConvertPython } from './convert-env.js'
import type { GgufSetup } from './pipeline.js'
import { setupLlamaCpp } from './toolchain.js'
import { validateGgufTypes } from './quant-types.js'

/** gguf-dir itself is checked with output-dir (folders.ts), before this runs. */
export async function prepareGguf(g: GgufConfig): Promise<GgufSetup> {
  if (g.imatrix && !(await fs.stat(g.imatrix).catch(() => null))?.isFile()) {
    throw new ActionError({
      problem: `Input imatrix "${g.imatrix}" is not a file`,
      fix: `point it at an importance matrix made by llama-imatrix`
    })
  }
  // Types need only llama-quantize's --help, but a checkout must be built to run it: set up first.
  const llama = await setupLlamaCpp({
    dir: g.llamaCppDir ?? undefined,
    ref: g.llamaCppRef,
    repoUrl: LLAMA_CPP_REPO,
    toolCacheDir: toolCacheRoot(),
    cacheToolchain: g.cacheToolchain
  })
  if (g.split !== null && llama.split === null) {
    throw new ActionError({
      problem: `Input gguf-split is set, but the llama.cpp checkout ${llama.dir} has no llama-gguf-split tool`,
      fix: `use a newer llama-cpp-ref, or remove gguf-split`
    })
  }
  const types = g.auto ? [] : validateGgufTypes(g.types, llama.types, g.imatrix !== null)
  const toolchain = llama.toolchain ? [llama.toolchain] : []
  const convertPython = await resolveConvertPython({
    convertPython: g.convertPython,
    llamaDir: llama.dir,
    commit: llama.commit,
    cacheToolchain: g.cacheToolchain,
    toolchain
  })
  return { config: g, llama, types, convertPython, toolchain }
}
