import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import type { Problem } from '../errors.js';
import { type DocPath, formatPath, getAt } from './doc-path.js';
import type { YamlSource } from './parse-yaml.js';
import { type Anchor, applyProblemOptions, type ProblemOptions } from './source-problem.js';

/** Pointing into a parsed document: the line and column of a path, and problems located there. Pure. */

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
  return applyProblemOptions({ file: source.file, line, column, path: formatPath(path), message }, options);
}
