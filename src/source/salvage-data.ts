import type { z } from 'zod';
import { type DocPath, getAt, type PathSegment } from './doc-path.js';

/**
 * What is left of an invalid document once its invalid optional fields are taken out, if that
 * passes the schema: so the checks that need valid data (cross-references between stages,
 * variables…) can run in the same pass, and `validate` reports every problem at once instead of
 * a second batch after the first is fixed. Only object fields are removed (never list items, so
 * the positions of what remains are unchanged); a missing required field means no salvage. Pure.
 */
export function salvageData<S extends z.ZodType>(
  schema: S,
  data: unknown,
  maxRounds = 3,
): { data: z.output<S>; removed: DocPath[] } | undefined {
  const current: unknown = structuredClone(data);
  const removed: DocPath[] = [];
  for (let round = 0; round < maxRounds; round++) {
    const result = schema.safeParse(current);
    if (result.success) return { data: result.data, removed };
    let progressed = false;
    for (const issue of result.error.issues as { code: string; path: PropertyKey[]; keys?: string[] }[]) {
      const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      const targets =
        issue.code === 'unrecognized_keys' ? (issue.keys ?? []).map((k) => [...path, k]) : [path];
      for (const target of targets) {
        if (!removeField(current, target)) return undefined;
        removed.push(target);
        progressed = true;
      }
    }
    if (!progressed) return undefined;
  }
  return undefined;
}

/** Deletes an object field that is present; false for the root, a list item or a missing field. */
function removeField(data: unknown, path: DocPath): boolean {
  const key = path.at(-1);
  if (key === undefined || typeof key === 'number') return false;
  const parent = getAt(data, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent) || !(key in parent))
    return false;
  delete (parent as Record<string, unknown>)[key];
  return true;
}
