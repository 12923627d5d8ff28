/** Escaping text for the HTML of the job summary and the Hub step's summary rows. */
import { redact } from './redact.js'

/**
 * The one escape for the job summary: every piece of user-, file- or tool-derived text (paths,
 * diagnoses, notes, formats, budget texts, commands, versions) goes through it before it is
 * placed in the summary's HTML; only the markup the writers add themselves stays raw.
 */
export function html(text: string): string {
  // Text content: quotes may stay (attributes go through htmlAttribute). Secrets redacted first:
  // the runner masks the log only, not the summary. Line endings (CommonMark knows LF, CR and
  // CRLF) become character references: GitHub renders the summary as Markdown, where a blank line
  // ends an HTML block (<p>, <table>) and turns what follows back into live Markdown (an image, a
  // heading), so escaped text must never hold a line ending.
  return redact(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
}

/** The same for a double-quoted attribute value (an artifact link's href). */
export function htmlAttribute(text: string): string {
  return html(text).replace(/"/g, '&quot;')
}
