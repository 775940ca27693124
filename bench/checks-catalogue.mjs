// Benchmark: the full check catalogue on a healthy namespace lab, through the shipped code path
// (connectCluster + runChecks), at several lab sizes. Target: one round on 10 nodes under 1 s,
// cost per added node roughly constant. Run after `npm run build`, on your own lab names:
//   DRYDOCK_LAB_DIR=/tmp/x DRYDOCK_LAB_NAME=x ... node bench/checks-catalogue.mjs [sizes] [rounds]
// e.g. `node bench/checks-catalogue.mjs 3,10 7`. Leaves the lab up at the last size.
// BENCH_CHECKS=ip-route,clock-skew times only the checks named.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { defaultCheckOptions } from '../dist/checks/catalogue.js';
import { runChecks, takeBaseline } from '../dist/checks/run-checks.js';
import { CHECK_NAMES } from '../dist/runbook/schema.js';
import { connectCluster } from '../dist/transport/cluster.js';

const LAB_SH = new URL('../lab/lab.sh', import.meta.url).pathname;
const sizes = (process.argv[2] ?? '3,10').split(',').map(Number);
const rounds = Number(process.argv[3] ?? 7);
const CATALOGUE = process.env.BENCH_CHECKS ? process.env.BENCH_CHECKS.split(',') : [...CHECK_NAMES];
const unknown = CATALOGUE.filter((c) => !CHECK_NAMES.includes(c));
if (unknown.length > 0) {
  console.error(`BENCH_CHECKS: no check ${unknown.join(', ')} (checks: ${CHECK_NAMES.join(', ')})`);
  process.exit(2);
}

const lab = (...args) =>
  execFileSync('bash', [LAB_SH, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });

async function benchSize(n) {
  lab('up', '--nodes', String(n), '--managers', String(Math.min(3, n)));
  const info = JSON.parse(lab('status', '--json'));
  const cluster = await connectCluster({
    ssh: {
      user: 'root',
      port: 22,
      agent: false,
      identityFile: info.sshKey,
      knownHosts: info.knownHosts,
      hostKeyPolicy: 'strict',
      sshConfig: false,
      sudo: false,
      connectTimeoutMs: 5000,
      hosts: {},
    },
    docker: {
      via: 'ssh',
      socket: '/var/run/docker.sock',
      managers: info.nodes.filter((x) => x.role === 'manager').map((x) => x.ip),
    },
  });
  try {
    const names = info.nodes.map((x) => x.name);
    const options = {
      ...defaultCheckOptions(60_000),
      'published-ports': {
        timeoutMs: 10_000,
        paths: { 8080: '/' },
        fromCluster: true,
        connectTimeoutMs: 1500,
      },
    };
    const round = async (baseline) => {
      const swarm = await cluster.swarm();
      const startedAt = performance.now();
      const results = await runChecks(CATALOGUE, {
        scope: names,
        swarm,
        engineOf: (node) => cluster.engineOf(node),
        shellOf: (node) => cluster.shellOf(node),
        ...(baseline ? { baseline } : {}),
        expectedAvailability: Object.fromEntries(names.map((x) => [x, 'active'])),
        rebootedFrom: {},
        stageStartedAt: new Date(),
        options,
        now: Date.now,
        sleep,
      });
      return { ms: performance.now() - startedAt, results };
    };
    // Connect every node and let the services converge (a fresh lab is still scheduling).
    const warm = await round();
    const baseline = await takeBaseline({ swarm: await cluster.swarm(), shellOf: (x) => cluster.shellOf(x) });
    const times = [];
    let last = warm;
    for (let i = 0; i < rounds; i++) {
      last = await round(baseline);
      times.push(last.ms);
    }
    const bad = last.results.filter((r) => r.status === 'fail' || r.status === 'warn');
    const byCheck = new Map();
    for (const r of last.results) byCheck.set(r.check, Math.max(byCheck.get(r.check) ?? 0, r.durationMs));
    const slowest = [...byCheck]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([check, ms]) => `${check} ${Math.round(ms)}ms`);
    return {
      n,
      warmMs: warm.ms,
      median: median(times),
      min: Math.min(...times),
      results: last.results.length,
      bad,
      slowest,
    };
  } finally {
    await cluster.close();
  }
}

const rows = [];
for (const n of sizes) {
  const row = await benchSize(n);
  rows.push(row);
  console.log(
    `${String(n).padStart(3)} nodes: median ${row.median.toFixed(0)}ms  min ${row.min.toFixed(0)}ms  (first round incl. connect ${row.warmMs.toFixed(0)}ms, ${row.results} results, ${row.bad.length} fail/warn)  slowest: ${row.slowest.join(', ')}`,
  );
  for (const r of row.bad) console.log(`      ${r.status} ${r.check} ${r.node ?? '-'}: ${r.message}`);
}
if (rows.length >= 2) {
  const [a, b] = [rows[0], rows.at(-1)];
  const perNode = (b.median - a.median) / (b.n - a.n);
  console.log(`per added node: ${perNode.toFixed(1)}ms (median ${a.n}→${b.n} nodes)`);
}
