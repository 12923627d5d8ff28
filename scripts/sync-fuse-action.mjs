// Writes fuse/action.yml from the root action.yml: the action folder the reusable workflow
// .github/workflows/fuse.yml calls as `uses: $/fuse` (the runner refuses a bare `$/`: see
// selfRepositoryPath in scripts/lint-workflows.mjs). Its inputs and outputs are the root's, copied
// as text; its runs: is the root's with each script path one folder up, since the runner joins
// `main` (and `pre`, `post`) to the action's folder (actions/runner
// src/Runner.Worker/Handlers/NodeScriptActionHandler.cs, `Path.Combine(ActionDirectory, target)`,
// at commit 258d6c857db3519913f7deb6004b60172f8043ae). test/workflows.test.ts checks the result;
// run `node scripts/sync-fuse-action.mjs` after changing action.yml's inputs or outputs.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'

const ROOT = path.join(import.meta.dirname, '..')
const SCRIPT_KEYS = ['main', 'pre', 'post']

/** The text of fuse/action.yml for the root action.yml's text. */
export function fuseActionText(rootText) {
  const root = parse(rootText)
  const start = rootText.search(/^inputs:/m)
  const end = rootText.search(/^runs:/m)
  if (start < 0 || end < start) throw new Error('action.yml: expected inputs: ... before runs:')
  const runs = Object.entries(root.runs)
    .map(([key, value]) => {
      const v = SCRIPT_KEYS.includes(key) ? path.posix.join('..', value) : value
      return `  ${key}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`
    })
    .join('')
  return (
    '# Generated from ../action.yml by scripts/sync-fuse-action.mjs: edit action.yml, then run it.\n' +
    '# The action folder .github/workflows/fuse.yml calls as `uses: $/fuse` (this repository at\n' +
    "# the caller's pinned commit); the same action, its script one folder up.\n" +
    `name: ${root.name} (reusable workflow step)\n` +
    `description: >-\n  The root action (../action.yml) for .github/workflows/fuse.yml; same inputs and outputs.\n` +
    `author: ${root.author}\n\n` +
    rootText.slice(start, end) +
    'runs:\n' +
    runs
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = fuseActionText(readFileSync(path.join(ROOT, 'action.yml'), 'utf8'))
  writeFileSync(path.join(ROOT, 'fuse', 'action.yml'), text)
  console.log('wrote fuse/action.yml')
}
