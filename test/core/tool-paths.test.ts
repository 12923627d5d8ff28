/**
 * One tool cache: every folder the action keeps once per machine is derived from the tool-cache
 * root by toolPaths (src/core/config.ts), under `<root>/mlx-fuse-action`.
 */
import { describe, expect, it } from '@jest/globals'
import os from 'node:os'
import path from 'node:path'

import { toolCacheRoot, toolPaths } from '../../src/core/config.js'
import { actionEnvRoot } from '../../src/core/venv.js'

describe('the tool paths', () => {
  it('puts the environments and the llama.cpp clones under the one action folder', () => {
    const root = path.join(os.tmpdir(), 'tool-cache')
    const paths = toolPaths(root)
    expect(paths.actionDir).toBe(path.join(root, 'mlx-fuse-action'))
    expect(paths.pythonEnvs).toBe(path.join(root, 'mlx-fuse-action', 'python-envs'))
    expect(paths.llamaCppClone('v0.4.0')).toBe(
      path.join(root, 'mlx-fuse-action', 'llama.cpp', 'v0.4.0')
    )
    // The environment manager reads the same folder.
    expect(actionEnvRoot(root)).toBe(paths.pythonEnvs)
  })

  it("takes the runner's tool cache, else ~/.cache", () => {
    const runner = path.join(os.tmpdir(), 'runner-tool-cache')
    expect(toolCacheRoot({ RUNNER_TOOL_CACHE: runner })).toBe(runner)
    expect(toolCacheRoot({})).toBe(path.join(os.homedir(), '.cache'))
    expect(toolPaths(toolCacheRoot({ RUNNER_TOOL_CACHE: runner })).actionDir).toBe(
      path.join(runner, 'mlx-fuse-action')
    )
  })
})
