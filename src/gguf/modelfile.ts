/**
 * An Ollama Modelfile for one GGUF: `FROM`, one `PARAMETER stop` per end-of-generation token,
 * and a `TEMPLATE` only when the chat template is one Ollama has a known equivalent for.
 *
 * Syntax as ollama/ollama `parser/parser.go` reads it: a value in double quotes is taken
 * between the first and the last quote with no escapes; `"""` quotes a value that holds a
 * double quote or spans lines; runes that are not printable (strconv.IsPrint) are dropped.
 */
import { knownTemplate } from './chat-templates.js'

export interface ModelfileInput {
  /** The GGUF's file name; the Modelfile sits beside it. */
  ggufName: string
  /** The texts of the GGUF's end-of-generation tokens, in id order. */
  stopTokens: readonly string[]
  /** The chat template the GGUF carries (`tokenizer.chat_template`), if any. */
  chatTemplate?: string
  /**
   * A LoRA GGUF beside it that Ollama applies to the FROM model: `ADAPTER ./<file>` (ollama/ollama
   * `docs/modelfile.md`, "ADAPTER": a GGUF LoRA adapter, applied to the base the FROM line names).
   */
  adapter?: string
}

export interface Modelfile {
  text: string
  /** The stop strings written as `PARAMETER stop`. */
  stops: string[]
  /** Stop tokens that a Modelfile cannot spell (a control character, or `"""`). */
  unwritable: string[]
  /** Ollama's name of the template written as TEMPLATE, if one was. */
  template?: string
}

/** `model.gguf` -> `model.Modelfile`. */
export function modelfileName(ggufName: string): string {
  return ggufName.replace(/\.gguf$/i, '') + '.Modelfile'
}

const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Co}\p{Cn}\u2028\u2029]*$/u

function quoted(value: string): string | undefined {
  if (value.length === 0 || !PRINTABLE.test(value)) return undefined
  if (!value.includes('"')) return `"${value}"`
  if (!value.includes('"""')) return `"""${value}"""`
  return undefined
}

/** The Modelfile's text for one GGUF. */
export function modelfile({
  ggufName,
  stopTokens,
  chatTemplate,
  adapter
}: ModelfileInput): Modelfile {
  const lines = [`FROM ./${ggufName}`, ...(adapter !== undefined ? [`ADAPTER ./${adapter}`] : [])]
  const stops: string[] = []
  const unwritable: string[] = []
  for (const token of new Set(stopTokens)) {
    const value = quoted(token)
    if (value === undefined) {
      unwritable.push(token)
    } else {
      stops.push(token)
      lines.push(`PARAMETER stop ${value}`)
    }
  }
  const known = knownTemplate(chatTemplate)
  if (known !== undefined && !known.ollama.includes('"""')) {
    lines.push(
      `# The chat template is the known "${known.name}" template (ollama/ollama template/${known.name}.gotmpl).`,
      `TEMPLATE """${known.ollama}"""`
    )
  } else if (chatTemplate !== undefined) {
    lines.push(
      '# No TEMPLATE: Ollama reads the chat template the GGUF carries (tokenizer.chat_template).'
    )
  } else {
    lines.push(
      '# No TEMPLATE: the model has no chat template, so Ollama falls back to its default and chat may misbehave.'
    )
  }
  return {
    text: lines.join('\n') + '\n',
    stops,
    unwritable,
    ...(known !== undefined ? { template: known.name } : {})
  }
}
