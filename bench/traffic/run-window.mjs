// A maintenance window under live traffic on the mesh lab, measured and attributed.
//
//   node bench/traffic/run-window.mjs --procedure naive [--nodes vm3,vm2,vm1]
//   node bench/traffic/run-window.mjs --procedure drydock --runbook FILE
//        [--noise 60] [--rate 5] [--out DIR] [--max-minutes 90]
//
// The mesh lab is the one the DRYDOCK_MESH_* environment names (lab/mesh-lab.sh), already up.
// Steps: the demo apps (lab/mesh-apps.sh up) and HAProxy (lab/mesh-haproxy.sh up), wait until
// HAProxy sees every server UP, load with no maintenance for --noise s (`noise-before`), load while
// the procedure runs (`run`), the same load again (`noise-after`), then the attribution table
// (attribute.mjs). Files in --out: requests.jsonl, events.jsonl, procedure.log, table.txt, summary.json.
//
// Procedures:
//   drydock  `drydock run RUNBOOK --yes --json` against the lab; its events are the timeline.
//   naive    per VM: drain, at once restart the engine, activate: no waits at all. It writes
//            node-start/stage-start/stage-end/node-end lines of drydock's shape.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = path.join(ROOT, 'bench/traffic');
const APPS = ['web:8080:18080', 'web-graceful:8090:18090'];

const { values } = parseArgs({
  options: {
    procedure: { type: 'string' },
    runbook: { type: 'string' },
    nodes: { type: 'string' },
    noise: { type: 'string', default: '60' },
    rate: { type: 'string', default: '5' },
    out: { type: 'string' },
    'max-minutes': { type: 'string', default: '90' },
  },
});

const die = (msg) => {
  process.stderr.write(`run-window: ${msg}\n`);
  process.exit(2);
};
const say = (msg) => process.stderr.write(`[run-window ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const procedure = values.procedure;
if (procedure !== 'naive' && procedure !== 'drydock') die('--procedure naive|drydock');
if (procedure === 'drydock' && !values.runbook) die('--procedure drydock needs --runbook FILE');
const noiseS = Number(values.noise);
if (!(noiseS > 0 && noiseS <= 600)) die('--noise must be in (0, 600] s');
const maxMinutes = Number(values['max-minutes']);
if (!(maxMinutes > 0 && maxMinutes <= 120)) die('--max-minutes must be in (0, 120]');
const out = path.resolve(values.out ?? `/tmp/drydock-traffic-${procedure}-${Date.now()}`);
fs.mkdirSync(out, { recursive: true });

const sh = (script, ...args) =>
  run('bash', [path.join(ROOT, 'lab', script), ...args], { maxBuffer: 64 << 20 });
const lab = JSON.parse((await sh('mesh-lab.sh', 'status', '--json')).stdout);
if (!lab.up) die(`the mesh lab in ${lab.dir} is down (lab/mesh-lab.sh up)`);
const net = lab.subnet.replace(/\.0\/24$/, '');
const manager = lab.nodes.find((n) => n.role === 'manager');
const dockerM = (...args) => run('docker', ['-H', manager.dockerHost, ...args]);

const requestsFile = path.join(out, 'requests.jsonl');
const eventsFile = path.join(out, 'events.jsonl');
const procLog = fs.createWriteStream(path.join(out, 'procedure.log'));
for (const f of [requestsFile, eventsFile]) fs.rmSync(f, { force: true });

/** Start load.mjs for one phase; resolves when it has exited. */
function startLoad(phase, durationS) {
  const args = [path.join(HERE, 'load.mjs'), '--net', net, '--nodes', String(lab.nodeCount)];
  for (const a of APPS) args.push('--app', a);
  args.push('--rate', values.rate, '--duration', String(durationS), '--phase', phase, '--out', requestsFile);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const done = new Promise((resolve) => child.on('exit', resolve));
  return { child, done };
}

async function waitHaproxyUp() {
  const t0 = Date.now();
  for (;;) {
    const st = (await sh('mesh-haproxy.sh', 'status')).stdout.trim().split('\n');
    const down = st.filter((l) => !/ UP /.test(`${l} `));
    if (st.length >= 2 * lab.nodeCount && down.length === 0) return;
    if (Date.now() - t0 > 180_000)
      throw new Error(`HAProxy servers not all UP after 180 s:\n${st.join('\n')}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const event = (e) =>
  fs.appendFileSync(eventsFile, `${JSON.stringify({ ...e, at: new Date().toISOString() })}\n`);

async function step(node, stage, index, fn) {
  event({ type: 'stage-start', node, stage, kind: 'run', index });
  const t0 = Date.now();
  let outcome = 'succeeded';
  try {
    await fn();
  } catch (e) {
    outcome = 'failed';
    procLog.write(`${node} ${stage}: ${e.message}\n`);
  }
  event({ type: 'stage-end', node, stage, index, outcome, durationMs: Date.now() - t0 });
  return outcome;
}

/** A swarm command that the manager may refuse for a moment (its own engine restarting). */
async function dockerRetry(...args) {
  for (let i = 0; ; i++) {
    try {
      return await dockerM(...args);
    } catch (e) {
      if (i >= 60) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** ssh exits 255 when it cannot connect (a busy TCG host): try again, not a failed command. */
async function sshRetry(node, cmd) {
  for (let i = 0; ; i++) {
    try {
      return await sh('mesh-lab.sh', 'exec', node, '--', cmd);
    } catch (e) {
      if (e.code !== 255 || i >= 10) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function naive() {
  const order = values.nodes
    ? values.nodes.split(',')
    : [
        ...lab.nodes.filter((n) => n.role !== 'manager'),
        ...lab.nodes.filter((n) => n.role === 'manager'),
      ].map((n) => n.name);
  for (const [i, node] of order.entries()) {
    if (!lab.nodes.some((n) => n.name === node)) throw new Error(`no VM ${node} in the lab`);
    event({ type: 'node-start', node, position: i + 1, batch: i + 1, availabilityBefore: 'active' });
    await step(node, 'drain', 0, () => dockerRetry('node', 'update', '--availability', 'drain', node));
    await step(node, 'engine-restart', 1, () => sshRetry(node, 'systemctl restart docker'));
    await step(node, 'activate', 2, () => dockerRetry('node', 'update', '--availability', 'active', node));
    event({ type: 'node-end', node, availabilityAfter: 'active' });
  }
  return 0;
}

async function drydock() {
  const args = [
    path.join(ROOT, 'bin/drydock.js'),
    'run',
    path.resolve(values.runbook),
    '--yes',
    '--json',
    '--journal-dir',
    path.join(out, 'journal'),
    '--identity',
    lab.sshKey,
    '--known-hosts',
    lab.knownHosts,
    '--ssh-user',
    lab.user,
    '--manager',
    manager.ip,
  ];
  const events = fs.openSync(eventsFile, 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', events, 'pipe'] });
  child.stderr.pipe(procLog);
  const killer = setTimeout(() => child.kill('SIGINT'), maxMinutes * 60_000);
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearTimeout(killer);
  fs.closeSync(events);
  return code;
}

say(`lab ${lab.dir} (${lab.nodeCount} VMs, ${net}.0/24); output in ${out}`);
say('demo apps and HAProxy');
await sh('mesh-apps.sh', 'up');
await sh('mesh-haproxy.sh', 'up');
await waitHaproxyUp();

say(`noise before: ${noiseS} s`);
await startLoad('noise-before', noiseS).done;

say(`load on; procedure ${procedure}`);
const load = startLoad('run', maxMinutes * 60);
const t0 = Date.now();
const exitCode = procedure === 'naive' ? await naive() : await drydock();
say(`procedure ${procedure} exited ${exitCode} after ${Math.round((Date.now() - t0) / 1000)} s`);
// a short tail: failures right after the last activate still count
await new Promise((r) => setTimeout(r, 5000));
load.child.kill('SIGTERM');
await load.done;

// the noise-after window starts once the cluster has settled as its checks see it
await waitHaproxyUp().catch((e) => say(`warning: ${e.message}`));
say(`noise after: ${noiseS} s`);
await startLoad('noise-after', noiseS).done;

const attr = ['--requests', requestsFile, '--events', eventsFile];
const table = (await run(process.execPath, [path.join(HERE, 'attribute.mjs'), ...attr])).stdout;
const summary = (await run(process.execPath, [path.join(HERE, 'attribute.mjs'), ...attr, '--json'])).stdout;
fs.writeFileSync(path.join(out, 'table.txt'), table);
fs.writeFileSync(path.join(out, 'summary.json'), summary);
process.stdout.write(
  `procedure: ${procedure}${values.runbook ? ` (${values.runbook})` : ''}, exit ${exitCode}\n`,
);
process.stdout.write(table);
process.exitCode = exitCode === 0 ? 0 : 1;
