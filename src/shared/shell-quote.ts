/** Words that need no quoting in a POSIX shell. Anything else is single-quoted. */
export const SAFE_SHELL_WORD = /^[A-Za-z0-9_.,:/=+@%-]+$/;

/**
 * Quote a value as one POSIX shell word: plain words stay as they are (readable plans),
 * everything else — spaces, quotes, `$()`, backticks, newlines, the empty string — is
 * single-quoted with embedded quotes escaped.
 */
export function quoteShellArg(value: string): string {
  if (SAFE_SHELL_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
