/** The Hub publishing inputs: parsed and checked up front, before any expensive work. */
import type { HubPublishConfig } from '../core/config.js'
import { Inputs } from '../core/constants.js'
import { checkRefInput, parseBooleanInput } from '../core/input-values.js'
import { logSafe } from '../core/log.js'
import { ActionError } from '../core/types.js'

export type { HubPublishConfig } from '../core/config.js'

/**
 * A repository id as the Hub accepts it (huggingface/huggingface_hub v0.30.0,
 * src/huggingface_hub/utils/_validators.py `validate_repo_id`): `namespace/name`, each of
 * letters, digits, `-`, `_` and `.`, the name at most 96 characters, no `--` or `..`, not ending
 * in `.git`. The namespace is required here: the action cannot guess whose repository it is.
 */
const REPO_ID = /^[\w.-]+\/[\w.-]{1,96}$/

/** `getInput` is `core.getInput` in the action, a plain lookup in tests. */
export function readHubPublishInputs(getInput: (name: string) => string): HubPublishConfig | null {
  const repo = getInput(Inputs.HubRepo).trim()
  const ggufRepo = getInput(Inputs.HubRepoGguf).trim()
  if (repo === '') {
    if (ggufRepo !== '') {
      throw new ActionError({
        problem: 'Input hub-repo-gguf is set but hub-repo is empty',
        fix: 'set hub-repo to the repository for the MLX model (and the model card), or remove hub-repo-gguf'
      })
    }
    return null
  }
  checkRepoId(Inputs.HubRepo, repo)
  if (ggufRepo !== '') checkRepoId(Inputs.HubRepoGguf, ggufRepo)
  const revision = getInput(Inputs.HubRevision).trim() || 'main'
  checkRefInput(Inputs.HubRevision, revision, 'branch')
  return {
    repo,
    ggufRepo: ggufRepo === '' || ggufRepo === repo ? null : ggufRepo,
    private: parseBooleanInput(Inputs.HubPrivate, getInput(Inputs.HubPrivate), true),
    revision
  }
}

function checkRepoId(input: string, id: string): void {
  if (!REPO_ID.test(id) || id.includes('--') || id.includes('..') || id.endsWith('.git')) {
    throw new ActionError({
      problem: `Input ${input} "${logSafe(id)}" is not a Hub repository id`,
      fix: `write it as namespace/name (letters, digits, "-", "_" and "." only, no "--" or "..", such as acme/granite-ft)`
    })
  }
}

/**
 * Publishing needs a token; refused before any work when none is given (hf-token, HF_TOKEN or the
 * file `hf auth login` wrote, read as for the base model). Whether it may write, the Hub answers.
 */
export async function requireHubToken(
  config: HubPublishConfig,
  tokenInput: string | null
): Promise<void> {
  const { hubSettings } = await import('../hub.js')
  if ((await hubSettings(tokenInput)).token === null) {
    throw new ActionError({
      problem: `Input hub-repo "${logSafe(config.repo)}" is set but no Hugging Face token is given`,
      fix: `set hf-token (or HF_TOKEN) to a token with write access`
    })
  }
}
