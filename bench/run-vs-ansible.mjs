// Benchmark: a no-op maintenance (per node: 5 stages of `true`, each followed by the
// between-stage checks ip-route and node-ready) with drydock and with an Ansible play
// (serial: 1, shell tasks, default settings) against the same namespace lab.
//
//   npm run build && node bench/run-vs-ansible.mjs 3 [10]
//
// It brings the lab up with N nodes (1 manager), runs both, and prints wall times, their
// ratio, drydock's orchestration overhead (wall time minus time inside remote commands and
// deliberate waits) and the delay from "services converged" to "next stage started" (from a
// drain on the first worker in a separate run).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
if (sizes.length === 0) sizes.push(3);
const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-run-'));
const lab = (...args) => execFileSync('bash', ['lab/lab.sh', ...args], { encoding: 'utf8' });

function labInfo() {
  return JSON.parse(lab('status', '--json'));
}

function noopRunbook(info, { drain = false } = {}) {
  const stages = drain
    ? [
        '  - { kind: drain, name: drain, timeout: 2m }',
        '  - { kind: run, name: s1, commands: ["true"] }',
        '  - { kind: activate, name: rejoin }',
      ]
    : [1, 2, 3, 4, 5].map((i) => `  - { kind: run, name: s${i}, commands: ["true"] }`);
  const manager = info.nodes.find((n) => n.role === 'manager');
  return `version: 1
name: bench-noop
connection:
  ssh: { user: root, identityFile: ${info.sshKey}, knownHosts: ${info.knownHosts}, sshConfig: false }
  docker: { via: ssh, managers: [${manager.ip}] }
checks:
  preflight: []
  between: [ip-route, node-ready]
  afterNode: []
stages:
${stages.join('\n')}
`;
}

function runDrydock(runbookPath) {
  const t0 = performance.now();
  const r = spawnSync(
    'node',
    ['bin/drydock.js', 'run', runbookPath, '--json', '--journal-dir', join(dir, 'runs')],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`drydock exited ${r.status}: ${r.stderr}\n${r.stdout.slice(-2000)}`);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { wallMs, events };
}

function ansiblePlay(info) {
  const inventory = join(dir, 'hosts.ini');
  writeFileSync(
    inventory,
    `[lab]\n${info.nodes.map((n) => `${n.name} ansible_host=${n.ip}`).join('\n')}\n[lab:vars]\nansible_user=root\nansible_ssh_private_key_file=${info.sshKey}\nansible_ssh_common_args=-o UserKnownHostsFile=${info.knownHosts} -o StrictHostKeyChecking=yes\nansible_python_interpreter=/usr/bin/python3\n`,
  );
  const tasks = [];
  for (let i = 1; i <= 5; i++) {
    tasks.push(`    - name: stage ${i}\n      shell: "true"`);
    tasks.push(`    - name: check ip route ${i}\n      shell: "ip -j route"`);
    tasks.push(
      // Jinja would try to template Go's {{ }}; grep the plain output instead.
      `    - name: check node ready ${i}\n      shell: "docker info 2>/dev/null | grep -q 'Swarm: active'"`,
    );
  }
  const play = join(dir, 'play.yml');
  writeFileSync(play, `- hosts: lab\n  serial: 1\n  gather_facts: false\n  tasks:\n${tasks.join('\n')}\n`);
  const t0 = performance.now();
  const r = spawnSync('ansible-playbook', ['-i', inventory, play], {
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'True' },
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ansible-playbook exited ${r.status}: ${r.stdout.slice(-2000)}`);
  return wallMs;
}

for (const n of sizes) {
  lab('up', '--nodes', String(n), '--managers', '1');
  const info = labInfo();
  const rb = join(dir, `noop-${n}.yaml`);
  writeFileSync(rb, noopRunbook(info));
  runDrydock(rb); // warm-up: page cache, first connections
  const { wallMs, events } = runDrydock(rb);
  const inCommands = events.filter((e) => e.type === 'command').reduce((s, e) => s + e.result.durationMs, 0);
  const ansibleMs = ansiblePlay(info);
  console.log(
    `${n} nodes: drydock ${(wallMs / 1000).toFixed(2)} s, ansible ${(ansibleMs / 1000).toFixed(2)} s, ratio ${(ansibleMs / wallMs).toFixed(1)}x`,
  );
  console.log(
    `  drydock orchestration overhead: ${((wallMs - inCommands) / 1000).toFixed(2)} s (wall minus ${(inCommands / 1000).toFixed(2)} s inside remote commands; no deliberate waits in this runbook)`,
  );

  // Convergence → next stage: a drain on the first worker, then when the next stage began.
  const drb = join(dir, `drain-${n}.yaml`);
  writeFileSync(
    drb,
    noopRunbook(info, { drain: true }).replace('stages:', 'targets: { names: [node2] }\nstages:'),
  );
  const drained = runDrydock(drb).events;
  const drainedAt = drained.find((e) => e.type === 'drained');
  const drainEnd = drained.find((e) => e.type === 'stage-end' && e.stage === 'drain');
  const next = drained.find((e) => e.type === 'stage-start' && e.stage === 's1');
  const checks = drained.find((e) => e.type === 'checks' && e.stage === 'drain');
  const checksMs = checks ? Math.max(...checks.results.map((r) => r.durationMs)) : 0;
  console.log(
    `  drain: services converged after ${drainedAt.waitedMs} ms; detected→next stage started ${Date.parse(next.at) - Date.parse(drainedAt.at)} ms (of which between-stage checks ${checksMs} ms, stage bookkeeping ${Date.parse(next.at) - Date.parse(drainEnd.at)} ms)`,
  );
}
