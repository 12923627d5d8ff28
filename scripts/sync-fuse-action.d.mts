// Types for scripts/sync-fuse-action.mjs, for the tests.
export function fuseActionText(rootText: string): string
