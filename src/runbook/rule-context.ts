import type { DocPath } from '../source/doc-path.js';
import type { ProblemOptions } from '../source/source-problem.js';
import type { ParsedRunbook } from './schema.js';

/** What a cross-reference rule sees, and how it reports a located problem. */
export interface RuleContext {
  runbook: ParsedRunbook;
  /** Effective stage names (defaults filled in), index-aligned with `runbook.stages`. */
  stageNames: string[];
  report: (path: DocPath, message: string, options?: ProblemOptions) => void;
  /** The text of a scalar as written in the file, when known (e.g. `20.10` before YAML made it 20.1). */
  readSource: (path: DocPath) => string | undefined;
}

export type Rule = (ctx: RuleContext) => void;
