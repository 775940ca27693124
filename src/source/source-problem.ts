import type { Problem } from '../errors.js';

/** How a problem is built: the options every step of positioned loading shares. Pure. */

/** Where a problem points: the key of a mapping entry, or its value (default). */
export type Anchor = 'key' | 'value';

export interface ProblemOptions {
  hint?: string | undefined;
  severity?: 'error' | 'warning';
  at?: Anchor;
  /** Character offset inside a string value, e.g. where `${typo}` starts in a command. */
  within?: number;
}

/** A problem at the start of the file, for whole-file issues. */
export function createFileProblem(file: string, message: string, options: ProblemOptions = {}): Problem {
  return applyProblemOptions({ file, line: 1, column: 1, path: '', message }, options);
}

/** Copies the hint and a warning severity onto `problem`; where it points is the caller's business. */
export function applyProblemOptions(problem: Problem, options: ProblemOptions): Problem {
  if (options.hint) problem.hint = options.hint;
  if (options.severity === 'warning') problem.severity = 'warning';
  return problem;
}
