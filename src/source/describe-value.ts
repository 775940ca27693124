/** How values, expected types and lists read in a message. Pure. */

/** `stages` → `stage`, for messages that name one item of a list key. */
export function singular(word: string): string {
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

/** `a, b or c`. */
export function joinOr(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A zod type name in words: `object` → `a mapping`. */
export function describeExpected(expected: string | undefined): string {
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

/** What a value is, for "must be a mapping, got …": its type, and the value when short. */
export function describeType(value: unknown): string {
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
