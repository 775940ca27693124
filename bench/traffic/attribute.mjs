// Attribution: which node was under maintenance and which stage was running when each request
// failed, and whether it went via the LB, via the maintained node or via a healthy node.
//
//   node bench/traffic/attribute.mjs --requests FILE.jsonl [--requests ...] --events EVENTS.jsonl [--json]
//
// requests: load.mjs lines (phases `noise-before`, `run`, `noise-after`). events: drydock's
// `run --json` stream, or the naive procedure's lines of the same shape (node-start, stage-start,
// stage-end, node-end; other types are ignored). Prints, per app, a table per path class (requests,
// failures, failure %, longest failure streak in requests and seconds), the noise rate (the same
// load, no maintenance) and the run's rate minus noise, then the failures per node and stage.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', multiple: true },
    events: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.requests?.length) {
  process.stderr.write('attribute.mjs: --requests FILE is required\n');
  process.exit(2);
}

const readLines = (f) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return []; // a line cut by a kill is not a request
      }
    });

const requests = values.requests.flatMap(readLines).map((r) => ({ ...r, ts: Date.parse(r.t) }));
requests.sort((a, b) => a.ts - b.ts);
const events = values.events && fs.existsSync(values.events) ? readLines(values.events) : [];

/**
 * Maintenance timeline from the events: one window per node (node-start..node-end), and inside it
 * one span per stage (stage-start..stage-end). Time inside a node's window but outside every stage
 * is the checks that run between stages: `checks after STAGE`.
 */
function buildTimeline(evs) {
  const windows = [];
  let cur = null;
  for (const e of evs) {
    const at = Date.parse(e.at);
    if (e.type === 'node-start') {
      cur = { node: e.node, start: at, end: Number.POSITIVE_INFINITY, stages: [] };
      windows.push(cur);
    } else if (e.type === 'stage-start' && cur && e.node === cur.node) {
      cur.stages.push({ stage: e.stage, start: at, end: Number.POSITIVE_INFINITY });
    } else if (e.type === 'stage-end' && cur && e.node === cur.node) {
      const s = cur.stages.findLast((x) => x.stage === e.stage && x.end === Number.POSITIVE_INFINITY);
      if (s) s.end = at;
    } else if (e.type === 'node-end' && cur && e.node === cur.node) {
      cur.end = at;
      cur = null;
    } else if ((e.type === 'halt' || e.type === 'run-end') && cur) {
      cur.end = at;
      cur = null;
    }
  }
  return windows;
}

const timeline = buildTimeline(events);

/** { node, stage } at time ts; node null between nodes. */
function maintenanceAt(ts) {
  const w = timeline.find((x) => ts >= x.start && ts < x.end);
  if (!w) return { node: null, stage: '(no node in maintenance)' };
  const s = w.stages.find((x) => ts >= x.start && ts < x.end);
  if (s) return { node: w.node, stage: s.stage };
  const before = w.stages.filter((x) => x.end <= ts).at(-1);
  return { node: w.node, stage: before ? `checks after ${before.stage}` : 'node start' };
}

/** lb | maintained | healthy */
function pathClass(r, node) {
  if (r.path === 'lb') return 'lb';
  return r.path === node ? 'maintained' : 'healthy';
}

const isFailure = (r) => r.outcome !== 'ok';

function emptyStats() {
  return { requests: 0, failures: 0, streak: 0, streakSeconds: 0, outcomes: {} };
}

/** Longest run of consecutive failures on one path (one VM or the LB), per class. */
function streaks(rows, classOf) {
  const byPath = new Map();
  for (const r of rows) {
    const k = `${r.app}|${r.path}`;
    if (!byPath.has(k)) byPath.set(k, []);
    byPath.get(k).push(r);
  }
  const best = new Map();
  for (const list of byPath.values()) {
    let n = 0;
    let first = null;
    for (const r of list) {
      if (isFailure(r)) {
        if (n === 0) first = r;
        n++;
        const cls = classOf(first);
        const secs = (r.ts + r.ms - first.ts) / 1000;
        const b = best.get(cls) ?? { count: 0, seconds: 0 };
        if (n > b.count) best.set(cls, { count: n, seconds: secs });
      } else {
        n = 0;
      }
    }
  }
  return best;
}

function summarize(app) {
  const mine = requests.filter((r) => r.app === app);
  const run = mine
    .filter((r) => r.phase === 'run')
    .map((r) => {
      const m = maintenanceAt(r.ts);
      return { ...r, node: m.node, stage: m.stage, cls: pathClass(r, m.node) };
    });
  const classes = { lb: emptyStats(), maintained: emptyStats(), healthy: emptyStats() };
  for (const r of run) {
    const s = classes[r.cls];
    s.requests++;
    if (isFailure(r)) {
      s.failures++;
      s.outcomes[r.outcome] = (s.outcomes[r.outcome] ?? 0) + 1;
    }
  }
  const best = streaks(run, (r) => r.cls);
  for (const [cls, b] of best) {
    classes[cls].streak = b.count;
    classes[cls].streakSeconds = Math.round(b.seconds * 10) / 10;
  }
  // noise: the same load with nothing in maintenance, LB and VMs apart
  const noise = {};
  for (const phase of ['noise-before', 'noise-after']) {
    const rows = mine.filter((r) => r.phase === phase);
    noise[phase] = {
      lb: countRate(rows.filter((r) => r.path === 'lb')),
      vm: countRate(rows.filter((r) => r.path !== 'lb')),
    };
  }
  const noiseRate = (kind) => {
    const a = noise['noise-before'][kind];
    const b = noise['noise-after'][kind];
    const n = a.requests + b.requests;
    return n ? (a.failures + b.failures) / n : 0;
  };
  for (const [cls, s] of Object.entries(classes)) {
    s.rate = s.requests ? s.failures / s.requests : 0;
    s.noiseRate = noiseRate(cls === 'lb' ? 'lb' : 'vm');
    s.rateMinusNoise = Math.max(0, s.rate - s.noiseRate);
  }
  // per node and stage: failures / requests per class
  const stages = new Map();
  for (const r of run) {
    const k = `${r.node ?? '-'}|${r.stage}`;
    if (!stages.has(k)) {
      stages.set(k, { node: r.node, stage: r.stage, lb: [0, 0], maintained: [0, 0], healthy: [0, 0] });
    }
    const s = stages.get(k);
    s[r.cls][1]++;
    if (isFailure(r)) s[r.cls][0]++;
  }
  return { app, classes, noise, stages: [...stages.values()] };
}

const apps = [...new Set(requests.map((r) => r.app))];
const summary = {
  events: events.length,
  nodes: timeline.map((w) => w.node),
  apps: apps.map(summarize),
};

const pct = (x) => `${(x * 100).toFixed(2)}%`;
function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) {
    process.stdout.write(
      `${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')}\n`,
    );
  }
}

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  for (const a of summary.apps) {
    const nb = a.noise['noise-before'];
    const na = a.noise['noise-after'];
    process.stdout.write(
      `\n== ${a.app}   noise before: lb ${nb.lb.failures}/${nb.lb.requests}, vms ${nb.vm.failures}/${nb.vm.requests}` +
        `   after: lb ${na.lb.failures}/${na.lb.requests}, vms ${na.vm.failures}/${na.vm.requests}\n`,
    );
    const rows = [
      ['path', 'requests', 'failures', 'fail %', 'noise %', '- noise', 'streak', 'streak s', 'outcomes'],
    ];
    for (const [cls, s] of Object.entries(a.classes)) {
      rows.push([
        cls,
        s.requests,
        s.failures,
        pct(s.rate),
        pct(s.noiseRate),
        pct(s.rateMinusNoise),
        s.streak,
        s.streakSeconds,
        Object.entries(s.outcomes)
          .map(([k, v]) => `${k}:${v}`)
          .join(' ') || '-',
      ]);
    }
    printTable(rows);
    process.stdout.write('\n');
    const srows = [['node', 'stage', 'lb fail/req', 'maintained', 'healthy']];
    for (const s of a.stages) {
      srows.push([
        s.node ?? '-',
        s.stage,
        `${s.lb[0]}/${s.lb[1]}`,
        `${s.maintained[0]}/${s.maintained[1]}`,
        `${s.healthy[0]}/${s.healthy[1]}`,
      ]);
    }
    printTable(srows);
  }
}

function countRate(rows) {
  const failures = rows.filter(isFailure).length;
  return { requests: rows.length, failures };
}
