import type { z } from 'zod';
import { type DocPath, getAt } from './doc-path.js';

/**
 * Schema introspection for messages: which keys a mapping allows (for near-miss hints) and what
 * a field is for (its description). Walks zod 4's internal definitions. Pure.
 */

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

/** The description of the field at `path`, for hints (undefined when it has none). */
export function describeSchemaAt(schema: z.ZodType, path: DocPath, data: unknown): string | undefined {
  const found = resolveSchemaAt(schema as unknown as ZodLike, path, data);
  if (!found) return undefined;
  return found.description ?? unwrapSchema(found).description;
}
