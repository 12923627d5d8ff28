// Types for scripts/bundle-stamp.mjs (plain JS so `npm run bundle` needs no build), for the tests.
export const ROOT: string
/** dist/sources.sha256, relative to the repository's root. */
export const STAMP: string
export function stampedFiles(root?: string): string[]
export function sourcesHash(root?: string): string
export function bundledHash(root?: string): string | null
