import { escapeInDoubleQuotes, escapeInSingleQuotes } from './shell-quote.js';

/**
 * Masking of secret values in anything drydock prints or stores (command output, results,
 * messages). A secret is masked in every form a command line gives it, because a shell trace
 * (`set -x`), sudo or an error message may echo the command back: as written, escaped for single
 * quotes (`'\''`), escaped for double quotes, and each of those once more (a command inside
 * `sh -c '…'`). Every non-empty secret is masked, however short: a short one garbles output,
 * but leaking it would be worse (`validate` refuses short secrets written in the runbook).
 */

export const SECRET_MASK = '*****';

const ENCODINGS: readonly ((value: string) => string)[] = [escapeInSingleQuotes, escapeInDoubleQuotes];

/** Every form of a secret to mask, longest first (so the longest form wins at a position). */
export function listSecretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    let level = [secret];
    for (let depth = 0; depth <= 2; depth++) {
      for (const form of level) forms.add(form);
      level = level.flatMap((form) => ENCODINGS.map((encode) => encode(form)));
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** A masker for one run's secrets: whole texts, or streams that arrive in chunks. */
export interface SecretMasker {
  /** True when there is nothing to mask (callers may skip work). */
  readonly empty: boolean;
  mask(text: string): string;
  /** A masker for one output stream; see `StreamMasker`. */
  stream(): StreamMasker;
}

/**
 * Masks a stream that arrives in chunks, where a secret may be split between chunks (or across
 * lines). It holds back the last (longest form − 1) characters of what it has seen, since they
 * could be the start of a secret, and releases them with the next chunk or on `end()`.
 */
export interface StreamMasker {
  /** Feeds a chunk; returns the masked text that is now safe to release (may be empty). */
  write(chunk: string): string;
  /** Releases whatever is held back, masked. Call once when the stream ends. */
  end(): string;
}

export function createSecretMasker(secrets: readonly string[]): SecretMasker {
  const forms = listSecretForms(secrets);
  const longest = forms[0]?.length ?? 0;
  return {
    empty: forms.length === 0,
    mask: (text) => (forms.length === 0 ? text : maskUpTo(text, forms, text.length).text),
    stream: () => {
      let held = '';
      return {
        write(chunk) {
          if (forms.length === 0) return chunk;
          const text = held + chunk;
          const masked = maskUpTo(text, forms, Math.max(0, text.length - (longest - 1)));
          held = text.slice(masked.consumed);
          return masked.text;
        },
        end() {
          const text = held;
          held = '';
          return forms.length === 0 ? text : maskUpTo(text, forms, text.length).text;
        },
      };
    },
  };
}

/** Masks `text` from the start up to `limit` (a match starting before `limit` is taken whole). */
function maskUpTo(text: string, forms: readonly string[], limit: number): { text: string; consumed: number } {
  let out = '';
  let i = 0;
  while (i < limit) {
    const form = forms.find((candidate) => text.startsWith(candidate, i));
    if (form) {
      out += SECRET_MASK;
      i += form.length;
    } else {
      out += text[i];
      i++;
    }
  }
  return { text: out, consumed: i };
}

/** Masks every secret in `text` (see `createSecretMasker` to mask many texts). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  return createSecretMasker(secrets).mask(text);
}
