import { type Document, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { Problem } from '../errors.js';
import { createFileProblem } from './source-problem.js';

/**
 * Positioned YAML loading, step (b): text → YAML document with positions. Syntax errors, tabs,
 * duplicate keys and alias bombs become located problems. Pure.
 */

/** Aliases allowed in one document: enough for anchors/merges, far too few for an alias bomb. */
export const MAX_ALIAS_COUNT = 50;

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
