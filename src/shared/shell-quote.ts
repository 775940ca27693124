/** Words that need no quoting in a POSIX shell. Anything else is single-quoted. */
export const SAFE_SHELL_WORD = /^[A-Za-z0-9_.,:/=+@%-]+$/;

/**
 * Quote a value as one POSIX shell word: plain words stay as they are (readable plans),
 * everything else — spaces, quotes, `$()`, backticks, newlines, the empty string — is
 * single-quoted with embedded quotes escaped.
 */
export function quoteShellArg(value: string): string {
  if (SAFE_SHELL_WORD.test(value)) return value;
  return `'${escapeInSingleQuotes(value)}'`;
}

/**
 * A value to be written between single quotes the template already opened: each `'` closes the
 * quotes, adds an escaped quote and reopens them (`'\''`). Nothing else is special there.
 */
export function escapeInSingleQuotes(value: string): string {
  return value.replace(/'/g, `'\\''`);
}

/**
 * A value to be written between double quotes the template already opened: `\`, `$`, `` ` ``
 * and `"` are backslash-escaped, so nothing expands. `!` is written as `"'!'"` (close, quoted
 * `!`, reopen) because an interactive bash would expand it as history even inside double
 * quotes, where `\!` would keep the backslash.
 */
export function escapeInDoubleQuotes(value: string): string {
  return value.replace(/[\\$`"]/g, '\\$&').replace(/!/g, `"'!'"`);
}

/** Where in a command line a value lands, as far as quoting goes. */
export type ShellQuoting = 'unquoted' | 'double-quoted' | 'single-quoted';

const QUOTERS: { [K in ShellQuoting]: (value: string) => string } = {
  unquoted: quoteShellArg,
  'double-quoted': escapeInDoubleQuotes,
  'single-quoted': escapeInSingleQuotes,
};

/** Writes a value so that the shell reads it literally, given the quotes around it. */
export function quoteForShell(value: string, quoting: ShellQuoting): string {
  return QUOTERS[quoting](value);
}
