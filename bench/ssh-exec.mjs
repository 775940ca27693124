// Benchmark: SSH exec latency of the transport against a namespace lab node.
//
//   npm run build && sudo bash lab/lab.sh up && node bench/ssh-exec.mjs [rounds]
//
// Prints ms per command on a persistent shell, on plain exec channels, and with a new
// connection per command, plus the wall time of 6 parallel `sleep 0.5` on one warm connection
// (4 persistent shells + 2 plain channels: ~0.5 s plus one channel start when they run side by
// side, 3 s if serialized). The lab env vars (DRYDOCK_LAB_DIR…)
// select the lab, as for lab.sh. Expected: persistent < plain < new connection.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createSshShellFactory } from '../dist/transport/ssh.js';

const rounds = Number(process.argv[2] ?? 50);
const lab = JSON.parse(execFileSync('bash', ['lab/lab.sh', 'status', '--json'], { encoding: 'utf8' }));
if (!lab.up) {
  console.error('the lab is down: sudo bash lab/lab.sh up');
  process.exit(2);
}
const node = lab.nodes[0];
const target = {
  node: node.name,
  host: node.ip,
  port: 22,
  user: lab.user,
  identityFile: lab.sshKey,
  agent: false,
  knownHostsFile: lab.knownHosts,
  hostKeyPolicy: 'strict',
  useSshConfig: false,
  connectTimeoutMs: 10_000,
};

async function perCommand(shell, n) {
  await shell.exec('true');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await shell.exec('true');
    if (r.exitCode !== 0) throw new Error(`true failed: ${JSON.stringify(r)}`);
  }
  return (performance.now() - t0) / n;
}

const persistent = await createSshShellFactory({ env: {} }).connect(target);
const plain = await createSshShellFactory({ env: {}, persistentSessions: false }).connect(target);
try {
  const persistentMs = await perCommand(persistent, rounds);
  const plainMs = await perCommand(plain, Math.max(5, Math.round(rounds / 10)));

  const fresh = createSshShellFactory({ env: {} });
  const freshRounds = Math.max(5, Math.round(rounds / 10));
  const t0 = performance.now();
  for (let i = 0; i < freshRounds; i++) {
    const shell = await fresh.connect(target);
    await shell.exec('true');
    await shell.close();
  }
  const freshMs = (performance.now() - t0) / freshRounds;

  // Warm the pool first: starting shells and channels costs what the plain-channel line shows.
  await Promise.all(Array.from({ length: 6 }, () => persistent.exec('true')));
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 6 }, () => persistent.exec('sleep 0.5')));
  const parallelMs = performance.now() - t1;

  console.log(`ssh exec of true on ${node.name} (${rounds} rounds):`);
  console.log(`  persistent shell   ${persistentMs.toFixed(1)} ms/command`);
  console.log(`  plain channel      ${plainMs.toFixed(1)} ms/command`);
  console.log(`  new connection     ${freshMs.toFixed(1)} ms/command`);
  console.log(
    `  6 x sleep 0.5 in parallel on one connection: ${parallelMs.toFixed(0)} ms (serialized: 3000)`,
  );
} finally {
  await persistent.close();
  await plain.close();
}
