const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `1h30m` → 5 400 000; `500ms` → 500; a number is seconds (`30` → 30 000). */
export function parseDuration(raw: number | string): number {
  if (typeof raw === 'number') return Math.round(raw * 1000);
  let total = 0;
  let matched = '';
  for (const match of raw.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    matched += match[0];
  }
  if (matched !== raw || raw === '') throw new RangeError(`not a duration: ${JSON.stringify(raw)}`);
  return Math.round(total);
}
