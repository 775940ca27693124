import { REFUSED_PLACES, type RefusedPlace } from '../shared/shell-context.js';
import type { DocPath } from '../source/doc-path.js';
import { findNearMiss } from '../source/near-miss.js';
import type { Rule } from './rule-context.js';
import type { ParsedRunbook } from './schema.js';
import { BUILTIN_VARIABLES, placeReferences, scanTemplate } from './substitute.js';

/**
 * The rules about variables and templates: every reference resolves, every value can be quoted
 * where it lands in a shell, secrets stay secret. Pure; registered in `RULES` (rules.ts).
 */

/** A template-bearing field and whether it goes to a shell (quoted) or is used as a value. */
interface TemplateField {
  path: DocPath;
  template: string;
  shell: boolean;
}

function listTemplateFields(runbook: ParsedRunbook): TemplateField[] {
  const fields: TemplateField[] = [];
  runbook.stages.forEach((stage, index) => {
    if (stage.kind === 'run') {
      stage.commands.forEach((template, n) => {
        fields.push({ path: ['stages', index, 'commands', n], template, shell: true });
      });
    }
    if (stage.kind === 'local') {
      stage.commands.forEach((template, n) => {
        fields.push({ path: ['stages', index, 'commands', n], template, shell: true });
      });
      if (stage.until) {
        fields.push({
          path: ['stages', index, 'until', 'command'],
          template: stage.until.command,
          shell: true,
        });
      }
    }
    if (stage.kind === 'reboot') {
      fields.push({ path: ['stages', index, 'command'], template: stage.command, shell: true });
      fields.push({ path: ['stages', index, 'engineLog'], template: stage.engineLog, shell: true });
    }
    if ((stage.kind === 'run' || stage.kind === 'reboot') && stage.skipIf !== undefined) {
      const skipIf = typeof stage.skipIf === 'string' ? { command: stage.skipIf } : stage.skipIf;
      const at = typeof stage.skipIf === 'string' ? [] : ['command'];
      if (skipIf.command !== undefined)
        fields.push({ path: ['stages', index, 'skipIf', ...at], template: skipIf.command, shell: true });
      if (skipIf.engineVersion !== undefined) {
        const path = ['stages', index, 'skipIf', 'engineVersion'];
        fields.push({ path, template: skipIf.engineVersion, shell: false });
      }
    }
  });
  const expected = runbook.checks.options['engine-version']?.expected;
  if (expected !== undefined) {
    fields.push({
      path: ['checks', 'options', 'engine-version', 'expected'],
      template: expected,
      shell: false,
    });
  }
  return fields;
}

/** `${name}` must name a variable or a built-in; `${` must be well formed. */
export const checkVariableReferences: Rule = (ctx) => {
  const known = [...Object.keys(ctx.runbook.variables), ...BUILTIN_VARIABLES];
  for (const field of listTemplateFields(ctx.runbook)) {
    const { parts, errors } = scanTemplate(field.template);
    for (const error of errors) ctx.report(field.path, error.message, { within: error.offset });
    for (const part of parts) {
      if (part.type !== 'ref' || known.includes(part.name)) continue;
      const near = findNearMiss(part.name, known);
      const declared = Object.keys(ctx.runbook.variables);
      ctx.report(field.path, `unknown variable \`\${${part.name}}\``, {
        within: part.offset,
        hint: near
          ? `did you mean \`\${${near}}\`?`
          : declared.length > 0
            ? `declared variables: ${declared.join(', ')} (built-ins: ${BUILTIN_VARIABLES.join(', ')})`
            : `declare it under \`variables:\` (built-ins: ${BUILTIN_VARIABLES.join(', ')})`,
      });
    }
  }
};

/** What to write instead of a `${…}` drydock cannot quote, per place. */
const PLACE_HINTS: { readonly [K in RefusedPlace]: (ref: string) => string } = {
  'command-substitution': (ref) =>
    `set a shell variable first and use it quoted inside: \`v=${ref}; echo "$(cat "$v")"\``,
  backticks: (ref) => `set a shell variable first and use it quoted inside: \`v=${ref}; echo "$(cat "$v")"\``,
  'parameter-expansion': (ref) => `set a shell variable first: \`v=${ref}; echo "\${X:-$v}"\``,
  arithmetic: (ref) => `set a shell variable first: \`n=${ref}; echo $((n + 1))\``,
  'dollar-single-quotes': (ref) => `write it outside the \`$'…'\` quotes: \`echo ${ref}\``,
  comment: () => 'remove it from the comment: a value with a newline would end the comment and run',
  'here-document': (ref) => `pipe it in instead: \`printf '%s\\n' ${ref} | …\``,
  'after-backslash': () => 'remove the backslash: drydock quotes every value',
  'after-dollar': () => 'remove the `$`: drydock quotes every value',
  unbalanced: () => 'close every quote, `$(`, `${` and backtick the command opens',
};

/** A `${…}` in a shell command must sit where drydock can quote it so that it stays literal. */
export const checkShellPlaces: Rule = (ctx) => {
  for (const field of listTemplateFields(ctx.runbook)) {
    if (!field.shell) continue;
    const { parts, errors } = scanTemplate(field.template);
    if (errors.length > 0) continue;
    const refs = parts.filter((part) => part.type === 'ref');
    placeReferences(parts).forEach((place, n) => {
      const ref = refs[n];
      if (place.kind !== 'refused' || !ref) return;
      const written = `\${${ref.name}}`;
      ctx.report(
        field.path,
        `\`${written}\` ${REFUSED_PLACES[place.place]}: drydock cannot quote a value there`,
        {
          within: ref.offset,
          hint: PLACE_HINTS[place.place](written),
        },
      );
    });
  }
};

/** Secrets are masked in shell commands only; anywhere else they would leak into plans and logs. */
export const checkSecretPlacement: Rule = (ctx) => {
  const secrets = new Set(
    Object.entries(ctx.runbook.variables)
      .filter(([, raw]) => typeof raw === 'object' && raw.secret)
      .map(([name]) => name),
  );
  for (const field of listTemplateFields(ctx.runbook)) {
    if (field.shell) continue;
    for (const part of scanTemplate(field.template).parts) {
      if (part.type === 'ref' && secrets.has(part.name)) {
        ctx.report(field.path, `secret variable \`${part.name}\` used outside a shell command`, {
          within: part.offset,
          hint: 'secrets may only appear in run commands and the reboot command, where they are masked',
        });
      }
    }
  }
};

/** An object variable needs exactly one source. */
export const checkVariableSources: Rule = (ctx) => {
  for (const [name, raw] of Object.entries(ctx.runbook.variables)) {
    if (typeof raw !== 'object') continue;
    const path = ['variables', name];
    if (raw.value !== undefined && raw.env !== undefined) {
      ctx.report(path, `variable \`${name}\` sets both \`value\` and \`env\``, {
        hint: 'use `env` with a `default` to fall back to a fixed value',
      });
    } else if (raw.value === undefined && raw.env === undefined) {
      ctx.report(path, `variable \`${name}\` needs a \`value\` or an \`env\``);
    }
    if (raw.default !== undefined && raw.env === undefined) {
      ctx.report([...path, 'default'], '`default` only applies with `env`', { at: 'key' });
    }
  }
};

/** `20.10` in YAML is the number 20.1: a version that silently changed. Say so. */
export const checkNumericVariables: Rule = (ctx) => {
  for (const [name, raw] of Object.entries(ctx.runbook.variables)) {
    const path = typeof raw === 'object' ? ['variables', name, 'value'] : ['variables', name];
    const value = typeof raw === 'object' ? raw.value : raw;
    if (typeof value !== 'number') continue;
    const written = ctx.readSource(path);
    if (written === undefined || written === String(value)) continue;
    // Why: a secret's value is never printed, not even in a warning about it.
    if (typeof raw === 'object' && raw.secret) {
      ctx.report(path, `secret \`${name}\` is read as a number, which changes how it is written`, {
        severity: 'warning',
        hint: 'quote the value to keep it as written',
      });
      continue;
    }
    ctx.report(path, `\`${written}\` is read as the number ${value}`, {
      severity: 'warning',
      hint: `quote it to keep it as written: "${written}"`,
    });
  }
};

/** Below this length a secret is indistinguishable from ordinary output. */
export const MIN_SECRET_LENGTH = 3;

/** A secret written in the runbook must be long enough to mask (the value itself is never printed). */
export const checkSecretLength: Rule = (ctx) => {
  for (const [name, raw] of Object.entries(ctx.runbook.variables)) {
    if (typeof raw !== 'object' || !raw.secret) continue;
    for (const key of ['value', 'default'] as const) {
      const value = raw[key];
      if (value === undefined || String(value).length >= MIN_SECRET_LENGTH) continue;
      ctx.report(
        ['variables', name, key],
        `secret \`${name}\` is shorter than ${MIN_SECRET_LENGTH} characters`,
        {
          hint: 'so short a value cannot be told apart from ordinary output: use a longer secret, or drop `secret: true` if it is not one',
        },
      );
    }
  }
};
