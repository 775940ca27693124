import { createHash } from 'node:crypto';
import { InvalidInputError, type Problem } from '../errors.js';
import { isErrorProblem, sortProblems } from '../shared/problems.js';
import { type DocPath, formatPath } from '../source/doc-path.js';
import { createProblem, readScalarSource } from '../source/locate-path.js';
import { parseYamlSource } from '../source/parse-yaml.js';
import { type DecodeOptions, decodeSource, readSourceFile } from '../source/read-source.js';
import { salvageData } from '../source/salvage-data.js';
import { type ValidateOptions, validateYamlSource } from '../source/validate-yaml.js';
import { type Env, normalizeRunbook } from './normalize.js';
import { runRules } from './rules.js';
import { CHECK_NAMES, type ParsedRunbook, rawRunbook } from './schema.js';
import type { Runbook } from './types.js';

/**
 * Runbook parsing: bytes → text → YAML with positions → schema → cross-reference rules →
 * normalized `Runbook`. Every problem is located (`file:line:col path message`); callers get
 * either a runbook (plus warnings) or all the problems, never a stack trace.
 */

export interface ParseOptions extends DecodeOptions {
  /** Where `{ env: NAME }` variables are read from; default `process.env`. */
  env?: Env;
}

export type RunbookResult =
  | { ok: true; runbook: Runbook; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

/** Domain words for schema messages: "unknown check `node-redy`" rather than "unknown value". */
export const RUNBOOK_MESSAGES: ValidateOptions = {
  nounForValues: (values) =>
    values.length === CHECK_NAMES.length && CHECK_NAMES.every((name) => values.includes(name))
      ? 'check'
      : undefined,
  nounForKeysAt: (path: DocPath) =>
    path.length === 2 && path[0] === 'checks' && path[1] === 'options' ? 'check' : undefined,
  rootHint: 'a runbook starts with `version: 1`, `name:` and a list of `stages:`',
};

/** sha256 of the file's bytes, hex; resume compares it to refuse a changed runbook. */
export function hashSource(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Parses and validates without throwing: the runbook and its warnings, or every problem. */
export function checkRunbookText(
  input: string | Buffer,
  file: string,
  options: ParseOptions = {},
): RunbookResult {
  const decoded = decodeSource(input, file, options);
  if (decoded.text === undefined) return { ok: false, problems: decoded.problems };

  const parsed = parseYamlSource(decoded.text, file);
  if (!parsed.source) return { ok: false, problems: sortProblems(parsed.problems) };
  const source = parsed.source;

  const validated = validateYamlSource(source, rawRunbook, RUNBOOK_MESSAGES);
  const problems = [...parsed.problems, ...validated.problems.map(explainVersion)];
  // Invalid fields taken out, the rules still run: every problem is reported in one pass.
  const salvaged = validated.data ? undefined : salvageData(rawRunbook, source.data);
  const checked = validated.data ?? salvaged?.data;
  if (!checked) return { ok: false, problems: sortProblems(problems) };
  const removed = (salvaged?.removed ?? []).map(formatPath);
  const seen = new Set(problems.map((p) => `${p.path}\n${p.message}`));

  runRules(
    checked,
    (path, message, problemOptions) => {
      const at = formatPath(path);
      // A rule about a field already reported as invalid would only repeat it.
      if (removed.some((r) => at === r || at.startsWith(`${r}.`) || at.startsWith(`${r}[`))) return;
      if (seen.has(`${at}\n${message}`)) return;
      problems.push(createProblem(source, path, message, problemOptions));
    },
    (path) => readScalarSource(source, path),
  );
  if (!validated.data) return { ok: false, problems: sortProblems(problems) };
  if (problems.some(isErrorProblem)) return { ok: false, problems: sortProblems(problems) };

  const runbook = normalizeRunbook(validated.data, {
    file,
    hash: hashSource(input),
    env: options.env ?? process.env,
  });
  runbook.hashOutsideWindow = hashSource(JSON.stringify(withoutWindow(validated.data)));
  return { ok: true, runbook, warnings: sortProblems(problems) };
}

/** The parsed runbook minus `rollout.window`: moving the window to the next night is not a change. */
function withoutWindow(data: ParsedRunbook): ParsedRunbook {
  const { window: _window, ...rollout } = data.rollout;
  return { ...data, rollout };
}

function explainVersion(problem: Problem): Problem {
  if (problem.path !== 'version' || !problem.message.startsWith('expected `1`')) return problem;
  return {
    ...problem,
    message: problem.message.replace(/^expected `1`, got (.*)$/, 'unsupported runbook version $1'),
    hint: 'this drydock reads `version: 1` runbooks',
  };
}

/** Parses runbook text (or bytes); throws `InvalidInputError` with every problem found. */
export function parseRunbookText(input: string | Buffer, file: string, options: ParseOptions = {}): Runbook {
  const result = checkRunbookText(input, file, options);
  if (!result.ok) throw new InvalidInputError(result.problems);
  return result.runbook;
}

/** Reads and checks a runbook file without throwing on invalid content (missing file: `UsageError`). */
export async function checkRunbookFile(path: string, options: ParseOptions = {}): Promise<RunbookResult> {
  const read = await readSourceFile(path, options);
  if (!read.bytes) return { ok: false, problems: read.problems };
  return checkRunbookText(read.bytes, path, options);
}

/** Reads and parses a runbook file; `UsageError` if it can't be read, `InvalidInputError` if invalid. */
export async function parseRunbookFile(path: string, options: ParseOptions = {}): Promise<Runbook> {
  const result = await checkRunbookFile(path, options);
  if (!result.ok) throw new InvalidInputError(result.problems);
  return result.runbook;
}
