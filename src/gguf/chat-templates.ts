/**
 * Chat templates the action recognises byte for byte, with their Ollama equivalents.
 *
 * Each Jinja text is an entry of ollama/ollama `template/index.json` (commit 19934fd1), the
 * table Ollama itself uses to name a Hugging Face chat template; the Go template is the file
 * of that name, ollama/ollama `template/<name>.gotmpl` (commit 4a8e5e29). The Jinja texts are
 * also the `chat_template` of the models named beside them (their Hub `tokenizer_config.json`).
 */
export interface KnownTemplate {
  /** Ollama's name for it (`template/<name>.gotmpl`). */
  name: string
  /** The Hugging Face chat template, exactly. */
  jinja: string
  /** Ollama's Go template. */
  ollama: string
}

export const KNOWN_TEMPLATES: readonly KnownTemplate[] = [
  {
    // Qwen/Qwen1.5-*-Chat, teknium/OpenHermes-2.5-Mistral-7B
    name: 'chatml',
    jinja:
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    ollama:
      '{{- if .Messages }}\n{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}\n{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n{{ else }}\n{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n{{ .Response }}<|im_end|>\n{{- end }}'
  },
  {
    // meta-llama/Meta-Llama-3-8B-Instruct
    name: 'llama3-instruct',
    jinja:
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    ollama:
      '{{- if .Messages }}\n{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>\n{{- end }}\n{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ else }}\n{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>\n{{- end }}'
  }
]

/** The known template whose Jinja text is byte-identical to `template`, if any. */
export function knownTemplate(template: string | undefined): KnownTemplate | undefined {
  if (template === undefined) return undefined
  return KNOWN_TEMPLATES.find(t => t.jinja === template)
}
