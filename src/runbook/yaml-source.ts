import { readFile, stat } from 'node:fs/promises';
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import type { z } from 'zod';
import { type Problem, UsageError } from '../errors.js';

/**
 * Positioned YAML loading shared by runbooks and inventories, in three steps:
 * bytes → text (`decodeSource`), text → YAML document with positions (`parseYamlSource`),
 * document → schema-checked data with friendly, located messages (`validateYamlSource`).
 * Each step reports every problem it finds; a later step only runs when the earlier one passed,
 * because its messages would be noise on a broken input.
 *
 * Pure apart from `readSourceFile`.
 */

/** A runbook or inventory this big is a mistake (or an attack); refuse before parsing. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

/** Aliases allowed in one document: enough for anchors/merges, far too few for an alias bomb. */
export const MAX_ALIAS_COUNT = 50;

/** A path into the document, e.g. `['stages', 2, 'timeout']`. */
export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

/** Where a problem points: the key of a mapping entry, or its value (default). */
export type Anchor = 'key' | 'value';

export interface ProblemOptions {
  hint?: string | undefined;
  severity?: 'error' | 'warning';
  at?: Anchor;
  /** Character offset inside a string value, e.g. where `${typo}` starts in a command. */
  within?: number;
}

/** `stages[2].timeout`, `checks.options.node-ready`; empty for the whole document. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** A problem at the start of the file, for whole-file issues. */
function createFileProblem(file: string, message: string, options: ProblemOptions = {}): Problem {
  return withOptions({ file, line: 1, column: 1, path: '', message }, options);
}

function withOptions(problem: Problem, options: ProblemOptions): Problem {
  if (options.hint) problem.hint = options.hint;
  if (options.severity === 'warning') problem.severity = 'warning';
  return problem;
}

// ---------------------------------------------------------------------------------------------
// Step (a): bytes → text

export interface DecodeOptions {
  maxBytes?: number;
}

/** Reads a file for parsing, refusing missing files (usage error) and oversized ones (problem). */
export async function readSourceFile(
  path: string,
  options: DecodeOptions = {},
): Promise<{ bytes?: Buffer; problems: Problem[] }> {
  const maxBytes = options.maxBytes ?? MAX_SOURCE_BYTES;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${describeFsError(error)}`, { cause: error });
  }
  // Why: don't even read a 10 MB "runbook" into memory.
  if (size > maxBytes) return { problems: [createTooLargeProblem(path, size, maxBytes)] };
  try {
    return { bytes: await readFile(path), problems: [] };
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

function createTooLargeProblem(file: string, size: number, maxBytes: number): Problem {
  return createFileProblem(
    file,
    `file is too large (${formatBytes(size)}; the limit is ${formatBytes(maxBytes)}); not parsed`,
    { hint: 'a runbook or inventory is a few kilobytes of YAML; is this the right file?' },
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${bytes} bytes`;
}

/**
 * Turns file bytes into text: refuses oversized input, binary data (NUL bytes), invalid UTF-8
 * (pointing at the first bad byte) and empty files. A UTF-8 BOM is dropped.
 */
export function decodeSource(
  input: string | Buffer,
  file: string,
  options: DecodeOptions = {},
): { text?: string; problems: Problem[] } {
  const maxBytes = options.maxBytes ?? MAX_SOURCE_BYTES;
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > maxBytes) return { problems: [createTooLargeProblem(file, bytes.length, maxBytes)] };

  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return {
      problems: [
        createByteProblem(
          file,
          bytes,
          nul,
          `this looks like a binary file, not YAML (NUL byte at offset ${nul})`,
          {
            hint: 'expected a YAML text file; check the path',
          },
        ),
      ],
    };
  }

  const invalid = findInvalidUtf8(bytes);
  if (invalid !== -1) {
    const byte = (bytes[invalid] ?? 0).toString(16).padStart(2, '0');
    return {
      problems: [
        createByteProblem(
          file,
          bytes,
          invalid,
          `file is not valid UTF-8: byte 0x${byte} at offset ${invalid}`,
          {
            hint: 'save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)',
          },
        ),
      ],
    };
  }

  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { problems: [createFileProblem(file, 'file is empty')] };
  return { text, problems: [] };
}

/** Line and column (1-based, in characters) of a byte offset, counting only the valid prefix. */
/** A problem about the file's bytes, located at the line and column of `offset`. */
function createByteProblem(
  file: string,
  bytes: Buffer,
  offset: number,
  message: string,
  extra: { hint: string },
): Problem {
  const { line, column } = locateByte(bytes, offset);
  return { file, line, column, path: '', message, ...extra };
}

function locateByte(bytes: Buffer, offset: number): { line: number; column: number } {
  const before = bytes.subarray(0, offset);
  const lastNewline = before.lastIndexOf(0x0a);
  let line = 1;
  for (const byte of before) if (byte === 0x0a) line++;
  const lineBytes = before.subarray(lastNewline + 1);
  // Why: the prefix may end mid-character; count code points, not bytes, for the column.
  const column = [...lineBytes.toString('utf8')].length + 1;
  return { line, column };
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629), or -1 when the buffer is valid. */
export function findInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b0 & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Step (b): text → YAML document with positions

/** A parsed YAML document plus what it takes to point at any path in it. */
export interface YamlSource {
  file: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The document as plain data (aliases resolved, within the alias limit). */
  data: unknown;
}

/** Parses YAML with positions: syntax errors, tabs, duplicate keys and alias bombs are problems. */
export function parseYamlSource(text: string, file: string): { source?: YamlSource; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, lineCounter });
  const lines = text.split('\n');
  const problems: Problem[] = [];

  // Why: a tab in the indentation derails the parser for the rest of that line; one clear
  // "tab" message beats three confusing follow-ups.
  const tabLines = new Set(
    doc.errors.filter((error) => error.code === 'TAB_AS_INDENT').map((error) => error.linePos?.[0].line),
  );
  for (const error of doc.errors) {
    const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
    if (error.code !== 'TAB_AS_INDENT' && tabLines.has(pos.line)) continue;
    const problem: Problem = {
      file,
      line: pos.line,
      column: pos.col,
      path: '',
      message: describeYamlError(error.code, error.message, doc, error.pos[0], text),
    };
    const hint = hintForYamlError(error.code, lines[pos.line - 1] ?? '');
    if (hint) problem.hint = hint;
    problems.push(problem);
  }
  for (const warning of doc.warnings) {
    const pos = warning.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push({
      file,
      line: pos.line,
      column: pos.col,
      path: '',
      message: firstLine(warning.message),
      severity: 'warning',
    });
  }
  if (problems.some((problem) => problem.severity !== 'warning')) return { problems };

  if (doc.contents === null) {
    return { problems: [...problems, createFileProblem(file, 'file has no content (only comments)')] };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError || error instanceof RangeError) {
      const at = findFirstAlias(doc, lineCounter) ?? { line: 1, column: 1 };
      problems.push({
        file,
        ...at,
        path: '',
        message: `too many YAML alias expansions (limit ${MAX_ALIAS_COUNT}); refusing a possible alias bomb`,
        hint: 'write the values out instead of nesting *aliases',
      });
      return { problems };
    }
    throw error;
  }
  return { source: { file, text, doc, lineCounter, data }, problems };
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
}

function describeYamlError(
  code: string,
  message: string,
  doc: Document,
  offset: number,
  text: string,
): string {
  if (code === 'DUPLICATE_KEY') {
    const key = findDuplicateKey(doc, offset);
    if (key) return `duplicate key \`${key.name}\` (first defined on line ${lineOf(text, key.firstOffset)})`;
    return 'duplicate key';
  }
  if (code === 'TAB_AS_INDENT') return 'tab used for indentation';
  return `YAML syntax error: ${lowerFirst(firstLine(message))}`;
}

function hintForYamlError(code: string, line: string): string | undefined {
  if (code === 'TAB_AS_INDENT' || /^[ ]*\t/.test(line)) {
    return 'use spaces for indentation; YAML does not allow tabs there';
  }
  if (code === 'DUPLICATE_KEY') return 'each key may appear only once in a mapping; remove or merge one';
  if (code === 'MULTIPLE_DOCS') return 'a runbook is a single YAML document; remove the extra `---`';
  return undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function findDuplicateKey(doc: Document, offset: number): { name: string; firstOffset: number } | undefined {
  let found: { name: string; firstOffset: number } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || !pair.key.range) continue;
        const name = String(pair.key.value);
        const first = seen.get(name);
        if (first !== undefined && pair.key.range[0] === offset) {
          found = { name, firstOffset: first };
          return visit.BREAK;
        }
        if (first === undefined) seen.set(name, pair.key.range[0]);
      }
      return undefined;
    },
  });
  return found;
}

function findFirstAlias(
  doc: Document,
  lineCounter: LineCounter,
): { line: number; column: number } | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  if (offset === undefined) return undefined;
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

// ---------------------------------------------------------------------------------------------
// Locating paths

/** Line and column of the node at `path` (or of the deepest part of it that exists). */
export function locatePath(
  source: YamlSource,
  path: DocPath,
  at: Anchor = 'value',
  within?: number,
): { line: number; column: number } {
  let offset = findPathOffset(source.doc, path, at);
  if (within !== undefined) offset += findScalarShift(source, offset, path, within);
  const pos = source.lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function findPathOffset(doc: Document, path: DocPath, at: Anchor): number {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isAlias(node)) node = node.resolve(doc);
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return best;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      if (isLast && at === 'key' && keyStart !== undefined) return keyStart;
      // Why: a key with an empty value (`timeout:`) has no value node; point at the key.
      best = valueStart ?? keyStart ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      const start = rangeStart(item);
      if (start === undefined) return best;
      best = start;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

/**
 * Source shift for a character inside a scalar. Exact only when the value is written as-is
 * (plain, or quoted without escapes on one line); otherwise 0, i.e. the start of the value.
 */
function findScalarShift(source: YamlSource, offset: number, path: DocPath, within: number): number {
  const value = getAt(source.data, path);
  if (typeof value !== 'string') return 0;
  if (source.text.startsWith(value, offset)) return within;
  const quote = source.text[offset];
  if ((quote === '"' || quote === "'") && source.text.startsWith(`${value}${quote}`, offset + 1))
    return within + 1;
  return 0;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** The source text of the scalar at `path` exactly as written (e.g. `20.10`), if it is a scalar. */
export function readScalarSource(source: YamlSource, path: DocPath): string | undefined {
  const node = source.doc.getIn(path, true);
  if (!isScalar(node) || !node.range) return undefined;
  return source.text.slice(node.range[0], node.range[1]);
}

/** Builds a located problem for `path` in `source`. */
export function createProblem(
  source: YamlSource,
  path: DocPath,
  message: string,
  options: ProblemOptions = {},
): Problem {
  const { line, column } = locatePath(source, path, options.at ?? 'value', options.within);
  return withOptions({ file: source.file, line, column, path: formatPath(path), message }, options);
}

// ---------------------------------------------------------------------------------------------
// Step (c): schema validation with friendly messages

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
      return [at(`expected ${describeExpected(issue.expected)}, got ${describeValue(value)}`)];
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

function singular(word: string): string {
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

function joinOr(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function describeExpected(expected: string | undefined): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    default:
      return expected ?? 'something else';
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `a string (${describeValue(value)})`;
  return `${typeof value} ${describeValue(value)}`;
}

/** A value as it appears in a message: strings in backticks, short; mappings and lists by type. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = typeof value === 'string' ? value : String(value);
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `\`${short.replace(/\n/g, '\\n')}\``;
}

/** The plain-data value at `path`, or undefined. */
export function getAt(data: unknown, path: DocPath): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Schema introspection (for near-miss hints and descriptions)

/** The minimum of zod 4's internal definition we walk; read through `_zod.def`. */
interface SchemaDef {
  type: string;
  innerType?: ZodLike;
  in?: ZodLike;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  valueType?: ZodLike;
  options?: ZodLike[];
  discriminator?: string;
  values?: unknown[];
}
interface ZodLike {
  _zod: { def: SchemaDef };
  description?: string;
}

function unwrapSchema(schema: ZodLike): ZodLike {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = current._zod.def;
    if (
      def.innerType &&
      ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)
    ) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      break;
    }
  }
  return current;
}

/** For a union, the object branch that fits `data` (by discriminator, else the first object). */
function pickBranch(schema: ZodLike, data: unknown): ZodLike | undefined {
  const def = schema._zod.def;
  const objects = (def.options ?? []).map(unwrapSchema).filter((option) => option._zod.def.type === 'object');
  if (def.discriminator && data && typeof data === 'object') {
    const kind = (data as Record<string, unknown>)[def.discriminator];
    const match = objects.find((option) => {
      const literal = option._zod.def.shape?.[def.discriminator ?? ''];
      return literal ? (unwrapSchema(literal)._zod.def.values ?? []).includes(kind) : false;
    });
    if (match) return match;
  }
  return objects[0];
}

function resolveSchemaAt(schema: ZodLike, path: DocPath, data: unknown): ZodLike | undefined {
  let current: ZodLike | undefined = schema;
  let value = data;
  for (const segment of path) {
    if (!current) return undefined;
    let node = unwrapSchema(current);
    if (node._zod.def.type === 'union') node = pickBranch(node, value) ?? node;
    const def: SchemaDef = node._zod.def;
    if (def.type === 'object') current = def.shape?.[String(segment)];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return undefined;
    value = getAt(value, [segment]);
  }
  return current;
}

/** The keys the schema allows for the mapping at `path` (empty if unknown). */
export function listAllowedKeys(schema: z.ZodType, path: DocPath, data: unknown): string[] {
  const found = resolveSchemaAt(schema as unknown as ZodLike, path, data);
  if (!found) return [];
  let node = unwrapSchema(found);
  if (node._zod.def.type === 'union') node = pickBranch(node, getAt(data, path)) ?? node;
  return Object.keys(node._zod.def.shape ?? {});
}

function describeSchemaAt(schema: z.ZodType, path: DocPath, data: unknown): string | undefined {
  const found = resolveSchemaAt(schema as unknown as ZodLike, path, data);
  if (!found) return undefined;
  return found.description ?? unwrapSchema(found).description;
}

// ---------------------------------------------------------------------------------------------
// Near misses

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions (`timuot`). */
export function measureEditDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate within a typo's reach (1 edit for short words, 2 for longer), if any. */
export function findNearMiss(word: string, candidates: readonly string[]): string | undefined {
  const needle = word.toLowerCase();
  const limit = needle.length <= 4 ? 1 : needle.length <= 8 ? 2 : 3;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = measureEditDistance(needle, candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
