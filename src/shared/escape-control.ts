/**
 * Names and messages that come from the cluster (hostnames, labels, service names, command
 * output) may hold terminal control characters: ESC sequences that move the cursor or rewrite
 * the screen, or bidi overrides (U+202E) that reverse what the operator reads. Every
 * human-readable output shows them as visible escapes (`\x1b`, `\u202e`) instead.
 * Newlines and tabs are kept: they are layout, not control.
 */
const CONTROL =
  // C0 (but tab and newline), DEL, C1, and the Unicode bidi and line-separator controls.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeControl(text: string): string {
  return text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The same, through every string of a JSON-like value (an event, a report), returning a copy. */
export function escapeControlDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeControl(value) as T;
  if (Array.isArray(value)) return value.map((item) => escapeControlDeep(item)) as T;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, escapeControlDeep(item)]),
    ) as T;
  }
  return value;
}
