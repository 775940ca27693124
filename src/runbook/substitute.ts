import { InternalError, UsageError } from '../errors.js';
import { SECRET_MASK } from '../shared/mask-secrets.js';
import { findHolePlaces, type HolePlace, REFUSED_PLACES } from '../shared/shell-context.js';
import { quoteForShell, quoteShellArg, SAFE_SHELL_WORD } from '../shared/shell-quote.js';
import type { Variable } from './types.js';

/**
 * `${name}` substitution for runbook templates. Pure.
 *
 * Syntax:
 * - `${name}` is a runbook variable (`[A-Za-z_][A-Za-z0-9_]*`) or a built-in:
 *   `${node.name}`, `${node.address}`, `${node.role}`, `${runbook.name}`.
 * - `$${` and `\${` produce a literal `${` (so the remote shell can still see `${HOME}`).
 * - Any other `$` is left alone: `$HOME`, `$(date)` and `$$` reach the shell unchanged.
 *
 * Shell quoting (`renderCommand`) depends on where the reference sits in the command
 * (`findHolePlaces`):
 * - unquoted: a value is inserted bare only when it matches `SAFE_SHELL_WORD` (no whitespace,
 *   quotes, `$`, backticks, globs, `~`, `;`, `&`, `|`, `<`, `>`, `(`, `)`, `{`, `}`, `!`, `#`,
 *   `\`); everything else, including the empty string, is wrapped in single quotes with each
 *   `'` written as `'\''` (POSIX);
 * - inside the template's own `"…"`: `\`, `$`, `` ` `` and `"` are backslash-escaped, and `!`
 *   is written as `"'!'"`;
 * - inside the template's own `'…'`: each `'` is written as `'\''`;
 * - anywhere else (`$(…)`, backticks, here-documents, comments, …) the template is refused by
 *   validation (`checkShellPlaces`), so rendering one is an internal error.
 * Masked secrets are shown as `*****`, unquoted, so the display reads the same whether or not
 * the real value would need quotes.
 */

export { quoteShellArg, SAFE_SHELL_WORD, SECRET_MASK };

export const BUILTIN_VARIABLES = ['node.name', 'node.address', 'node.role', 'runbook.name'] as const;
export type BuiltinVariable = (typeof BUILTIN_VARIABLES)[number];

const NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|node\.name|node\.address|node\.role|runbook\.name)$/;

/**
 * What `${…}` may resolve to: the runbook's variables plus built-ins. `node` is absent when
 * rendering outside a node (then `${node.*}` is an error).
 */
export interface SubstitutionScope {
  variables: readonly Variable[];
  node?: { hostname: string; address: string; role: 'manager' | 'worker' };
  runbook: { name: string };
}

export interface RenderOptions {
  /** true at run time (real secrets); false for plans, logs and journals (secrets masked). */
  reveal: boolean;
}

export interface Rendered {
  text: string;
  /** True when the template refers to a secret (so the display differs from what runs). */
  hasSecrets: boolean;
}

export type TemplatePart = { type: 'text'; text: string } | { type: 'ref'; name: string; offset: number };

export interface TemplateSyntaxError {
  offset: number;
  message: string;
}

/** Splits a template into literal text and `${name}` references, collecting syntax errors. */
export function scanTemplate(template: string): { parts: TemplatePart[]; errors: TemplateSyntaxError[] } {
  const parts: TemplatePart[] = [];
  const errors: TemplateSyntaxError[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('$${', i) || template.startsWith('\\${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (template.startsWith('${', i)) {
      const close = template.indexOf('}', i + 2);
      if (close === -1) {
        errors.push({
          offset: i,
          message: 'unterminated `${`: add the closing `}` (write `$${` for a literal `${`)',
        });
        text += template.slice(i);
        break;
      }
      const name = template.slice(i + 2, close);
      if (!NAME.test(name)) {
        errors.push({
          offset: i,
          message: `\`\${${name}}\` is not a variable reference (names are letters, digits and _; write \`$\${\` for a literal \`\${\`)`,
        });
        text += template.slice(i, close + 1);
      } else {
        if (text) parts.push({ type: 'text', text });
        text = '';
        parts.push({ type: 'ref', name, offset: i });
      }
      i = close + 1;
      continue;
    }
    text += template[i];
    i++;
  }
  if (text) parts.push({ type: 'text', text });
  return { parts, errors };
}

/** Names referred to by a template, in order, with repeats. */
export function listReferences(template: string): string[] {
  return scanTemplate(template)
    .parts.filter((part) => part.type === 'ref')
    .map((part) => (part as { name: string }).name);
}

/** Where each `${…}` of a shell command sits, in order (see `findHolePlaces`). */
export function placeReferences(parts: readonly TemplatePart[]): HolePlace[] {
  const texts = [''];
  for (const part of parts) {
    if (part.type === 'text') texts[texts.length - 1] += part.text;
    else texts.push('');
  }
  return findHolePlaces(texts);
}

/** Substitutes a shell command: values quoted for their place, secrets masked unless `reveal`. */
export function renderCommand(template: string, scope: SubstitutionScope, options: RenderOptions): Rendered {
  const parts = parseTemplate(template);
  const places = placeReferences(parts);
  let n = 0;
  return render(parts, template, scope, options, (value) => {
    const place = places[n++];
    if (place?.kind !== 'quoted') {
      // Why: validation refuses these places, so reaching here means a caller skipped it.
      const where = place ? REFUSED_PLACES[place.place] : 'nowhere';
      throw new InternalError(`bad template ${JSON.stringify(template)}: a reference ${where}`);
    }
    return quoteForShell(value, place.quoting);
  });
}

/** Substitutes a non-shell field (e.g. an expected version): values inserted as they are. */
export function renderValue(template: string, scope: SubstitutionScope, options: RenderOptions): Rendered {
  return render(parseTemplate(template), template, scope, options, (value) => value);
}

function parseTemplate(template: string): TemplatePart[] {
  const { parts, errors } = scanTemplate(template);
  const firstError = errors[0];
  // Why: parse-time rules reject these, so reaching here means a caller skipped validation.
  if (firstError) throw new InternalError(`bad template ${JSON.stringify(template)}: ${firstError.message}`);
  return parts;
}

/** `quote` is called once per reference, in order, masked or not, so it can track places. */
function render(
  parts: readonly TemplatePart[],
  template: string,
  scope: SubstitutionScope,
  options: RenderOptions,
  quote: (value: string) => string,
): Rendered {
  let text = '';
  let hasSecrets = false;
  for (const part of parts) {
    if (part.type === 'text') {
      text += part.text;
      continue;
    }
    const entry = lookUp(scope, part.name);
    if (!entry) throw new InternalError(`unknown variable \${${part.name}} in ${JSON.stringify(template)}`);
    if (entry.secret) hasSecrets = true;
    if (entry.value === undefined) {
      if (options.reveal) {
        throw new UsageError(
          `variable \`${part.name}\` has no value: $${entry.env ?? part.name} is not set`,
          {
            hint: `export ${entry.env ?? part.name}=… or give the variable a default in the runbook`,
          },
        );
      }
      quote('');
      text += `<unset: $${entry.env ?? part.name}>`;
      continue;
    }
    const quoted = quote(entry.value);
    text += entry.secret && !options.reveal ? SECRET_MASK : quoted;
  }
  return { text, hasSecrets };
}

interface ScopeEntry {
  value: string | undefined;
  secret: boolean;
  env?: string;
}

function lookUp(scope: SubstitutionScope, name: string): ScopeEntry | undefined {
  switch (name) {
    case 'runbook.name':
      return { value: scope.runbook.name, secret: false };
    case 'node.name':
      return scope.node && { value: scope.node.hostname, secret: false };
    case 'node.address':
      return scope.node && { value: scope.node.address, secret: false };
    case 'node.role':
      return scope.node && { value: scope.node.role, secret: false };
  }
  const variable = scope.variables.find((candidate) => candidate.name === name);
  if (!variable) return undefined;
  return {
    value: variable.value,
    secret: variable.secret,
    ...(variable.source.type === 'env' ? { env: variable.source.env } : {}),
  };
}

/** Every secret value the run knows (each is masked wherever drydock prints or stores text). */
export function listSecretValues(variables: readonly Variable[]): string[] {
  return variables.filter((v) => v.secret && v.value).map((v) => v.value as string);
}
