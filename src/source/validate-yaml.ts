import type { z } from 'zod';
import type { Problem } from '../errors.js';
import { describeExpected, describeType, describeValue, joinOr, singular } from './describe-value.js';
import { type DocPath, formatPath, getAt, type PathSegment } from './doc-path.js';
import { describeSchemaAt, listAllowedKeys } from './inspect-schema.js';
import { createProblem } from './locate-path.js';
import { findNearMiss } from './near-miss.js';
import type { YamlSource } from './parse-yaml.js';
import type { ProblemOptions } from './source-problem.js';

/**
 * Positioned YAML loading, step (c): document → schema-checked data. Every zod issue becomes a
 * problem located at its path in the document and worded for people (`unknown field`, "did you
 * mean …?", the field's description as a hint). Pure.
 */

/** Domain words for messages, so a generic validator can say "unknown check" instead of "unknown value". */
export interface ValidateOptions {
  /** Names a set of enum values, e.g. the check catalogue → "check". */
  nounForValues?: (values: readonly unknown[]) => string | undefined;
  /** Names the keys of the mapping at `path`, e.g. checks.options → "check". */
  nounForKeysAt?: (path: DocPath) => string | undefined;
  /** Hint for a document that is not a mapping at the top level. */
  rootHint?: string;
}

/** Validates the document against a zod schema; every issue becomes a located, readable problem. */
export function validateYamlSource<S extends z.ZodType>(
  source: YamlSource,
  schema: S,
  options: ValidateOptions = {},
): { data?: z.output<S>; problems: Problem[] } {
  const result = schema.safeParse(source.data);
  if (result.success) return { data: result.data, problems: [] };
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const issue of result.error.issues) {
    for (const problem of describeIssue(issue as Issue, source, schema, options)) {
      const key = `${problem.line}:${problem.column}:${problem.path}:${problem.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
  }
  return { problems };
}

/** The parts of a zod 4 issue we read; kept loose because issue shapes vary by code. */
interface Issue {
  code: string;
  path: PathSegment[];
  message: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  options?: unknown[];
  discriminator?: string;
  note?: string;
  format?: string;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  errors?: Issue[][];
  issues?: Issue[];
}

function describeIssue(
  issue: Issue,
  source: YamlSource,
  schema: z.ZodType,
  options: ValidateOptions,
): Problem[] {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  const value = getAt(source.data, path);
  const at = (message: string, extra: ProblemOptions = {}, where: DocPath = path) =>
    createProblem(source, where, message, extra);

  // Why: a missing field shows up as a type or union failure on `undefined`; name it instead.
  const isMissing =
    value === undefined &&
    path.length > 0 &&
    (issue.code === 'invalid_type' ||
      issue.code === 'invalid_value' ||
      (issue.code === 'invalid_union' && !issue.discriminator));
  if (isMissing) {
    const name = String(path[path.length - 1]);
    const description = describeSchemaAt(schema, path, source.data);
    return [
      at(`missing required field \`${name}\`${describeParent(path.slice(0, -1), source.data)}`, {
        hint: description ? `\`${name}\`: ${description}` : undefined,
      }),
    ];
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = listAllowedKeys(schema, path, source.data);
      const noun = options.nounForKeysAt?.(path);
      return (issue.keys ?? []).map((key) => {
        const near = allowed.length > 0 ? findNearMiss(key, allowed) : undefined;
        const hint = near
          ? `did you mean \`${near}\`?`
          : allowed.length > 0
            ? `${noun ? `known ${noun}s` : 'allowed here'}: ${allowed.join(', ')}`
            : undefined;
        return at(`unknown ${noun ?? 'field'} \`${key}\``, { hint, at: 'key' }, [...path, key]);
      });
    }
    case 'invalid_type': {
      if (value === undefined) return [at('the document is empty')];
      if (path.length === 0 && issue.expected === 'object') {
        return [
          at(
            `the document must be a mapping (key: value lines) at the top level, got ${describeType(value)}`,
            { hint: options.rootHint },
          ),
        ];
      }
      return [
        at(`expected ${describeExpected(issue.expected)}, got ${describeValue(value)}`, {
          hint: issue.expected === 'string' ? hintColonInPlainScalar(value) : undefined,
        }),
      ];
    }
    case 'invalid_union': {
      if (issue.note === 'No matching discriminator' || issue.discriminator) {
        const kinds = (issue.options ?? []).map(String);
        const parentKey = [...path]
          .reverse()
          .find((segment) => typeof segment === 'string' && segment !== issue.discriminator);
        const subject =
          `${typeof parentKey === 'string' ? singular(parentKey) : ''} ${issue.discriminator ?? 'kind'}`.trim();
        if (value === undefined) {
          return [
            at(
              `missing \`${issue.discriminator ?? 'kind'}\``,
              { hint: `every ${subject.replace(/ \w+$/, '')} needs one of: ${kinds.join(', ')}` },
              path.slice(0, -1),
            ),
          ];
        }
        const near = findNearMiss(String(value), kinds);
        return [
          at(`unknown ${subject} ${describeValue(value)}`, {
            hint: `${near ? `did you mean \`${near}\`? ` : ''}valid ${subject}s: ${kinds.join(', ')}`,
          }),
        ];
      }
      // Why: zod reports each branch; a branch whose failure is deeper than "wrong type" matched
      // the shape the user meant, so its issues are the useful ones.
      const branches = issue.errors ?? [];
      const deep = branches.find((branch) =>
        branch.some((inner) => inner.code !== 'invalid_type' || inner.path.length > 0),
      );
      if (deep) {
        return deep.flatMap((inner) =>
          describeIssue({ ...inner, path: [...path, ...inner.path] }, source, schema, options),
        );
      }
      if (!issue.message.startsWith('Invalid'))
        return [at(`expected ${issue.message}, got ${describeValue(value)}`)];
      const expected = [
        ...new Set(branches.flatMap((branch) => branch.map((inner) => describeExpected(inner.expected)))),
      ];
      const description = describeSchemaAt(schema, path, source.data);
      return [at(`expected ${joinOr(expected)}, got ${describeValue(value)}`, { hint: description })];
    }
    case 'invalid_value': {
      const values = issue.values ?? [];
      if (values.length === 1)
        return [at(`expected ${describeValue(values[0])}, got ${describeValue(value)}`)];
      const noun = options.nounForValues?.(values);
      const names = values.map(String);
      const near = typeof value === 'string' ? findNearMiss(value, names) : undefined;
      if (noun) {
        return [
          at(`unknown ${noun} ${describeValue(value)}`, {
            hint: near ? `did you mean \`${near}\`?` : `known ${noun}s: ${names.join(', ')}`,
          }),
        ];
      }
      return [
        at(`expected one of ${names.join(', ')}, got ${describeValue(value)}`, {
          hint: near ? `did you mean \`${near}\`?` : undefined,
        }),
      ];
    }
    case 'invalid_format': {
      const custom = !issue.message.startsWith('Invalid');
      const expected = custom ? issue.message : `a string matching ${issue.format ?? 'the expected format'}`;
      return [at(`expected ${expected}, got ${describeValue(value)}`)];
    }
    case 'invalid_key': {
      const inner = issue.issues?.[0];
      const custom = inner && !inner.message.startsWith('Invalid') ? inner.message : undefined;
      const key = path[path.length - 1];
      const parentKey = path[path.length - 2];
      const subject = typeof parentKey === 'string' ? `${singular(parentKey)} name` : 'name';
      return [at(`invalid ${subject} \`${String(key)}\`${custom ? `: use ${custom}` : ''}`, { at: 'key' })];
    }
    case 'too_small':
    case 'too_big': {
      return [at(describeBound(issue, value))];
    }
    default:
      return [at(issue.message)];
  }
}

function describeBound(issue: Issue, value: unknown): string {
  const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  if (Array.isArray(value)) {
    if (issue.code === 'too_small' && limit <= 1) return 'must not be empty';
    return issue.code === 'too_small' ? `needs at least ${limit} items` : `allows at most ${limit} items`;
  }
  if (typeof value === 'string') {
    if (issue.code === 'too_small' && limit <= 1) return 'must not be empty';
    return issue.code === 'too_small'
      ? `must be at least ${limit} characters`
      : `must be at most ${limit} characters`;
  }
  const bound =
    issue.code === 'too_small'
      ? issue.inclusive === false
        ? 'greater than'
        : 'at least'
      : issue.inclusive === false
        ? 'less than'
        : 'at most';
  return `must be ${bound} ${limit}, got ${describeValue(value)}`;
}

function describeParent(parentPath: DocPath, data: unknown): string {
  const parent = getAt(data, parentPath);
  const kind =
    parent && typeof parent === 'object' && 'kind' in parent ? (parent as { kind: unknown }).kind : undefined;
  if (typeof kind === 'string') return ` in this ${kind} stage`;
  if (parentPath.length === 0) return '';
  return ` in \`${formatPath(parentPath)}\``;
}

/**
 * `- echo a: b` is YAML for the mapping {"echo a": "b"}: the `: ` inside an unquoted value starts
 * a mapping. Show the value as it was meant, quoted.
 */
function hintColonInPlainScalar(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length !== 1) return undefined;
  const [key, inner] = entries[0]!;
  if (typeof inner === 'object' && inner !== null) return undefined;
  const meant = `${key}: ${inner ?? ''}`.trimEnd();
  return `the \`: \` in an unquoted value starts a mapping: quote the whole value, e.g. '${meant.replaceAll("'", "''")}'`;
}
