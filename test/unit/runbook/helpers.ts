import type { Problem } from '../../../src/errors.js';
import { checkRunbookText, type ParseOptions } from '../../../src/runbook/parse.js';
import type { Runbook } from '../../../src/runbook/types.js';

/** A minimal valid runbook with the given YAML appended (stages included unless overridden). */
export function buildRunbookYaml(
  extra = '',
  stages = 'stages:\n  - kind: drain\n  - kind: activate\n',
): string {
  return `version: 1\nname: test\n${extra}${stages}`;
}

export function expectProblems(text: string, options: ParseOptions = {}): Problem[] {
  const result = checkRunbookText(text, 'rb.yaml', { env: {}, ...options });
  if (result.ok) throw new Error('expected problems, got a valid runbook');
  return result.problems;
}

export function expectRunbook(
  text: string,
  options: ParseOptions = {},
): { runbook: Runbook; warnings: Problem[] } {
  const result = checkRunbookText(text, 'rb.yaml', { env: {}, ...options });
  if (!result.ok) throw new Error(`expected a valid runbook:\n${JSON.stringify(result.problems, null, 2)}`);
  return { runbook: result.runbook, warnings: result.warnings };
}

/** `line:col path message` for compact assertions. */
export function summarize(problems: Problem[]): string[] {
  return problems.map((p) => `${p.line}:${p.column} ${p.path} ${p.message}`.replace(/ {2,}/g, ' '));
}
