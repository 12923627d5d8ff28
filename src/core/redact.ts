/**
 * Secrets out of every sentence the action writes. The runner masks registered secrets in the
 * log only; the job summary, the manifest and text that reaches a file are not masked. So the
 * sentences go through {@link redact} where they leave the action (setFailed, annotations, the
 * summary, the manifest, log lines): every token registered with {@link addSecret}, every
 * `user:password@` in a URL, a signed URL's signature, and anything shaped like a Hugging Face
 * token or a Bearer credential becomes `***`.
 */
import * as core from '@actions/core'

const secrets = new Set<string>()

/** Registers a secret: masked by the runner in the log, and replaced by {@link redact}. */
export function addSecret(value: string | null | undefined): void {
  if (!value) return
  const clean = value.trim()
  // A secret of one or two characters would turn every sentence into stars: mask, do not redact.
  core.setSecret(clean)
  if (clean.length >= 4) secrets.add(clean)
}

/** `scheme://user:password@` or `scheme://token@` in a URL. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi
/** A Hugging Face user access token: `hf_` and 30 or more letters and digits. */
const HF_TOKEN = /\bhf_[A-Za-z0-9]{30,}/g
const BEARER = /\b(Bearer\s+)[^\s"'<>,;]+/gi
/** A signed URL's credential parameters (Azure SAS `sig`, S3 `X-Amz-Signature`/`-Credential`, `token`). */
const SIGNED_PARAM =
  /([?&](?:sig|signature|token|access_token|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&\s"'<>#]+/gi

/** `text` with every registered secret and every credential-shaped string replaced by `***`. */
export function redact(text: string): string {
  let out = text
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***')
  }
  return out
    .replace(URL_CREDENTIALS, '$1***@')
    .replace(HF_TOKEN, 'hf_***')
    .replace(BEARER, '$1***')
    .replace(SIGNED_PARAM, '$1***')
}
