/**
 * `2024-05-01T12:01:02.345Z` (or its epoch ms) → `12:01:02` in local time, the operator's
 * clock; unparsable input is shown as is.
 */
export function formatClock(at: string | number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
