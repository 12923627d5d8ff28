/**
 * Log hygiene: nothing a tool prints, and no file- or user-derived text the action logs itself,
 * may become a workflow command.
 *
 * The runner's parser (actions/runner, src/Runner.Common/ActionCommand.cs, TryParseV2 and
 * TryParse; src/Runner.Worker/ActionCommandManager.cs, TryProcessCommand) reads every output
 * line twice: as `::name props::data` after TrimStart() (so leading spaces do not help), and as
 * the legacy `##[name props]data` found ANYWHERE in the line (message.IndexOf("##[")). Both forms
 * are ignored between `::stop-commands::TOKEN` and `::TOKEN::` (or `##[TOKEN]`), which is the only
 * way to pass arbitrary text through. So:
 * - a tool's output is streamed inside a stop-commands block with a fresh random token
 *   ({@link CommandsStopped}); its lines are written whole, so the resume line always starts a line;
 * - text the action logs with core.info goes through {@link logSafe}, which redacts secrets
 *   (core/redact.ts), spells control characters out and breaks `::` and `##[` with a zero-width
 *   joiner (U+2060 WORD JOINER).
 */
import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { redact } from './redact.js'

const WORD_JOINER = '\u2060'
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu

/** Text safe for one log line: control characters spelt `\u000a`, `::` and `##[` broken. */
export function logSafe(text: string): string {
  return redact(text)
    .replace(CONTROL, ch => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)
    .replace(/::/g, `:${WORD_JOINER}:`)
    .replace(/##\[/g, `#${WORD_JOINER}#[`)
}

/** A command line as one safe log line: arguments with spaces or quotes are single-quoted. */
export function commandLine(tool: string, args: readonly string[]): string {
  const quote = (a: string): string =>
    a === '' || /[\s'"\\$`*?!;&|<>(){}[\]#~]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a
  return logSafe([tool, ...args].map(quote).join(' '))
}

/**
 * One stop-commands block around a tool's output. Both of the tool's streams go to stdout, one
 * whole line (ending in \n or \r) at a time, so the end marker can never be glued to a partial
 * line and every line reaches the runner in order.
 */
export class CommandsStopped {
  private readonly token = `mlx-fuse-${randomBytes(16).toString('hex')}`
  private readonly partial: Record<'out' | 'err', string> = { out: '', err: '' }
  private ended = false

  constructor(private readonly write: (text: string) => void = t => process.stdout.write(t)) {
    this.write(`::stop-commands::${this.token}\n`)
  }

  /** Echoes the command line the way @actions/exec does, but escaped. */
  echo(tool: string, args: readonly string[]): void {
    this.write(`[command]${commandLine(tool, args)}\n`)
  }

  push(stream: 'out' | 'err', chunk: Buffer | string): void {
    const text = this.partial[stream] + chunk.toString()
    const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1
    this.partial[stream] = text.slice(cut)
    if (cut > 0) this.write(text.slice(0, cut))
  }

  /** Flushes unterminated lines and resumes command processing; safe to call twice. */
  end(): void {
    if (this.ended) return
    this.ended = true
    for (const stream of ['out', 'err'] as const) {
      if (this.partial[stream] !== '') this.write(`${this.partial[stream]}\n`)
      this.partial[stream] = ''
    }
    this.write(`::${this.token}::\n`)
  }
}

/** core.info for a line that holds file-, tool- or user-derived text. */
export function info(text: string): void {
  core.info(logSafe(text))
}
