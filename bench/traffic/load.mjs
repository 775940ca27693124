// Load generator for the mesh lab: a fixed request rate to every target, a fresh TCP connection
// per request, a 2 s timeout, every request logged as one JSON line.
//
//   node bench/traffic/load.mjs --net 10.77.3 --nodes 3 --app web:8080:18080 [--app NAME:PORT:LBPORT]
//        [--rate 5] [--duration 60] [--max-requests N] [--phase run] [--out FILE]
//
// Targets per app: `lb` (HAProxy at NET.1:LBPORT) and `vmK` (NET.(20+K):PORT, the published port).
// Only lab addresses are allowed: NET must be a 10.77.x lab subnet, and every target is inside it.
// Bounded: --duration (at most 2 h) and --max-requests; SIGTERM/SIGINT stop it early, in-flight
// requests are still logged. A line: {"t":ISO start,"ms":latency,"phase","app","path":"lb"|"vmK",
// "outcome":"ok"|"status"|"timeout"|"reset"|"refused"|"error","status"?:code,"code"?:errno}
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const MAX_DURATION_S = 7200;
const TIMEOUT_MS = 2000;

const { values } = parseArgs({
  options: {
    net: { type: 'string' },
    nodes: { type: 'string' },
    app: { type: 'string', multiple: true },
    rate: { type: 'string', default: '5' },
    duration: { type: 'string', default: '60' },
    'max-requests': { type: 'string' },
    phase: { type: 'string', default: 'run' },
    out: { type: 'string' },
  },
});

function usage(msg) {
  process.stderr.write(`load.mjs: ${msg}\n`);
  process.exit(2);
}

const net = values.net ?? process.env.DRYDOCK_MESH_NET ?? '10.77.1';
// the lab subnets are 10.77.N.0/24; nothing else may be loaded
if (!/^10\.77\.\d{1,3}$/.test(net) || Number(net.split('.')[2]) > 255) {
  usage(`--net ${net} is not a lab subnet (10.77.N)`);
}
const nodes = Number(values.nodes ?? '3');
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) usage('--nodes must be 1..9');
const rate = Number(values.rate);
if (!(rate > 0 && rate <= 50)) usage('--rate must be in (0, 50] requests per second per target');
const durationS = Number(values.duration);
if (!(durationS > 0 && durationS <= MAX_DURATION_S)) usage(`--duration must be in (0, ${MAX_DURATION_S}] s`);
const maxRequests = values['max-requests'] ? Number(values['max-requests']) : Number.POSITIVE_INFINITY;
if (!(maxRequests > 0)) usage('--max-requests must be positive');
const apps = (values.app?.length ? values.app : ['web:8080:18080']).map((a) => {
  const [name, port, lbPort] = a.split(':');
  const p = Number(port);
  const lp = Number(lbPort);
  if (!name || !Number.isInteger(p) || !Number.isInteger(lp)) usage(`--app ${a}: want NAME:PORT:LBPORT`);
  return { name, port: p, lbPort: lp };
});

/** Every target: the LB and each VM's published port, per app. */
const targets = [];
for (const app of apps) {
  targets.push({ app: app.name, path: 'lb', host: `${net}.1`, port: app.lbPort });
  for (let k = 1; k <= nodes; k++) {
    targets.push({ app: app.name, path: `vm${k}`, host: `${net}.${20 + k}`, port: app.port });
  }
}
for (const t of targets) {
  if (!t.host.startsWith(`${net}.`)) usage(`refusing non-lab target ${t.host}`);
}

const out = values.out ? fs.createWriteStream(values.out, { flags: 'a' }) : process.stdout;
let inFlight = 0;
let sent = 0;
let stopping = false;

function classify(err) {
  const code = err?.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(String(err?.message)))
    return 'reset';
  return 'error';
}

function fire(t) {
  const start = Date.now();
  const started = process.hrtime.bigint();
  inFlight++;
  sent++;
  let done = false;
  const finish = (outcome, extra = {}) => {
    if (done) return;
    done = true;
    inFlight--;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const line = {
      t: new Date(start).toISOString(),
      ms: Math.round(ms),
      phase: values.phase,
      app: t.app,
      path: t.path,
      outcome,
      ...extra,
    };
    out.write(`${JSON.stringify(line)}\n`);
  };
  // agent:false + Connection: close — every request is a new trip through DNAT/IPVS/HAProxy
  const req = http.get({
    host: t.host,
    port: t.port,
    path: '/',
    agent: false,
    headers: { Connection: 'close' },
  });
  // the 2 s bound covers connect, response and body
  const timer = setTimeout(() => {
    finish('timeout');
    req.destroy();
  }, TIMEOUT_MS);
  req.on('response', (res) => {
    res.resume();
    res.on('end', () => {
      clearTimeout(timer);
      const s = res.statusCode ?? 0;
      finish(s >= 200 && s < 300 ? 'ok' : 'status', s >= 200 && s < 300 ? {} : { status: s });
    });
    res.on('error', (e) => {
      clearTimeout(timer);
      finish(classify(e), { code: e.code });
    });
  });
  req.on('error', (e) => {
    clearTimeout(timer);
    finish(classify(e), e.code ? { code: e.code } : {});
  });
}

const t0 = Date.now();
const periodMs = 1000 / rate;
let tick = 0;

function stop() {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  // let in-flight requests finish (each is bounded by the 2 s timeout)
  const wait = setInterval(() => {
    if (inFlight === 0) {
      clearInterval(wait);
      if (out === process.stdout) process.exit(0);
      out.end(() => process.exit(0));
    }
  }, 50);
}

let timer;
// Drift-free schedule: tick N fires at t0 + N·period; targets are spread across the period.
function schedule() {
  if (stopping) return;
  if (Date.now() - t0 >= durationS * 1000 || sent >= maxRequests) return stop();
  targets.forEach((t, i) => {
    setTimeout(
      () => {
        if (!stopping && sent < maxRequests) fire(t);
      },
      (periodMs * i) / targets.length,
    );
  });
  tick++;
  timer = setTimeout(schedule, Math.max(0, t0 + tick * periodMs - Date.now()));
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
schedule();
