/** Paths into a YAML document, as zod issues and rules name them. Pure. */

/** A path into the document, e.g. `['stages', 2, 'timeout']`. */
export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

/** `stages[2].timeout`, `checks.options.node-ready`; empty for the whole document. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
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
