import type { Problem } from '../errors.js';

/**
 * Renders located problems (runbook and inventory validation) for people and for scripts.
 * Text format, one problem per entry:
 *
 *   file:line:col  path  message
 *     hint: did you mean `timeout`?
 *
 * The path is left out for whole-document problems; warnings say so before the message.
 */

/** True unless the problem is explicitly a warning. */
export function isErrorProblem(problem: Problem): boolean {
  return problem.severity !== 'warning';
}

/** Problems in reading order: by file, then line, then column. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/** One problem as text; the hint, if any, on the next line indented. */
export function formatProblem(problem: Problem): string {
  const location = `${problem.file}:${problem.line}:${problem.column}`;
  const severity = problem.severity === 'warning' ? 'warning: ' : '';
  const head = [location, problem.path, `${severity}${problem.message}`].filter((part) => part !== '');
  const lines = [head.join('  ')];
  if (problem.hint) lines.push(`  hint: ${problem.hint}`);
  return lines.join('\n');
}

/** Every problem, sorted, one block per problem, with a trailing newline. */
export function formatProblems(problems: readonly Problem[]): string {
  if (problems.length === 0) return '';
  return `${sortProblems(problems).map(formatProblem).join('\n')}\n`;
}

/** Counts for summaries such as "2 errors, 1 warning". */
export function countProblems(problems: readonly Problem[]): { errors: number; warnings: number } {
  const errors = problems.filter(isErrorProblem).length;
  return { errors, warnings: problems.length - errors };
}

/** "2 errors, 1 warning" — omitting zero counts; "no problems" when both are zero. */
export function summarizeProblemCounts(problems: readonly Problem[]): string {
  const { errors, warnings } = countProblems(problems);
  const parts: string[] = [];
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.length > 0 ? parts.join(', ') : 'no problems';
}
