/**
 * The x axis of the timeline: wall-clock time mapped to pixels, with the idle gaps between
 * sessions (a halt, then a resume hours later) collapsed into narrow breaks so the work stays
 * readable. Pure.
 */
export interface TimeScale {
  x(atMs: number): number;
  width: number;
  /** Collapsed gaps, for drawing the break marks. */
  breaks: { x: number; width: number; gapMs: number }[];
  ticks: { x: number; atMs: number }[];
}

export const BREAK_WIDTH = 28;
const MIN_TICK_SPACING = 80;
const STEPS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 21_600_000,
];

/** `intervals`: [start, end] of activity in ms, any order, possibly overlapping. */
export function createTimeScale(intervals: [number, number][], width: number): TimeScale {
  const merged = mergeIntervals(intervals);
  const gaps = Math.max(0, merged.length - 1);
  const activeMs = merged.reduce((sum, [a, b]) => sum + Math.max(b - a, 1), 0);
  const perMs = Math.max(width - gaps * BREAK_WIDTH, 100) / Math.max(activeMs, 1);
  const offsets: number[] = [];
  let x = 0;
  const breaks: TimeScale['breaks'] = [];
  merged.forEach(([a, b], i) => {
    offsets.push(x);
    x += Math.max(b - a, 1) * perMs;
    const next = merged[i + 1];
    if (next) {
      breaks.push({ x, width: BREAK_WIDTH, gapMs: next[0] - b });
      x += BREAK_WIDTH;
    }
  });
  const scaleX = (at: number): number => {
    for (let i = 0; i < merged.length; i++) {
      const [a, b] = merged[i] as [number, number];
      const offset = offsets[i] ?? 0;
      if (at < a) return i === 0 ? 0 : offset - BREAK_WIDTH / 2;
      if (at <= b) return offset + (at - a) * perMs;
    }
    return x;
  };
  const step = STEPS_MS.find((s) => s * perMs >= MIN_TICK_SPACING) ?? (STEPS_MS.at(-1) as number);
  const ticks: TimeScale['ticks'] = [];
  let lastX = Number.NEGATIVE_INFINITY;
  for (const [a, b] of merged) {
    for (let t = Math.ceil(a / step) * step; t <= b; t += step) {
      const tx = scaleX(t);
      // Why: labels closer than this would overlap; a skipped tick is better than a smudge.
      if (tx - lastX < MIN_TICK_SPACING) continue;
      ticks.push({ x: tx, atMs: t });
      lastX = tx;
    }
  }
  return { x: scaleX, width: Math.max(x, 1), breaks, ticks };
}

function mergeIntervals(intervals: [number, number][]): [number, number][] {
  const sorted = intervals
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .sort((p, q) => p[0] - q[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    // Gaps under a minute stay on the axis: they are part of the run (soaks, reboots).
    if (last && a <= last[1] + 60_000) last[1] = Math.max(last[1], b);
    else out.push([a, Math.max(a, b)]);
  }
  return out.length > 0 ? out : [[0, 1]];
}
