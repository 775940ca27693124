// Zero failed requests, judged as users judge a window: live HTTP load through a real HAProxy and
// straight to every VM's published port, on the real routing mesh, while drydock takes one worker
// out of the LB, moves its tasks first, restarts its engine and puts it back. The harness is
// bench/traffic (run-window.mjs → load.mjs → attribute.mjs); the full rolling window over every VM
// (upgrade and reboot included) and the naive baseline are `npm run bench:traffic`.
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { readMeshLab } from '../lab/mesh.js';
import { tempDir, writeRunbook } from '../support/drydock-cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = tempDir('drydock-mesh-traffic-');
// On by default; DRYDOCK_TRAFFIC_TEST=0 leaves it out (it adds ~4 minutes to the mesh suite: 200 s measured).
const enabled = process.env.DRYDOCK_TRAFFIC_TEST !== '0';
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!enabled) return;
  // Leave the lab as the other mesh files expect it: no HAProxy, no second app, web at 1 replica.
  await execa('bash', [join(ROOT, 'lab/mesh-haproxy.sh'), 'down'], { reject: false });
  await execa('bash', [join(ROOT, 'lab/mesh-apps.sh'), 'down'], { reject: false });
  // A halted run leaves its node drained and the lock held (as it should): undo both here.
  const lab = readMeshLab();
  const host = lab.nodes.find((n) => n.role === 'manager')!.dockerHost;
  await execa('docker', ['-H', host, 'config', 'rm', 'drydock-lock'], { reject: false });
  for (const n of lab.nodes) {
    await execa('docker', ['-H', host, 'node', 'update', '--availability', 'active', n.name], {
      reject: false,
    });
  }
});

interface ClassStats {
  requests: number;
  failures: number;
  outcomes: Record<string, number>;
}
interface AppSummary {
  app: string;
  classes: { lb: ClassStats; maintained: ClassStats; healthy: ClassStats };
}

/**
 * What the assertions can and cannot demand on this host. Routing faults (a black hole, a stopped
 * backend still routed to, a node taking traffic before its mesh is programmed, the LB sending to
 * a node in maintenance) show as refused or reset connections: for the well-behaved app the bar is
 * zero, via the LB and via every healthy node. Timeouts are another matter here: with three
 * emulated VMs on two cores, every container start and engine start starves all the VMs of CPU
 * for seconds (the latency of successful requests on untouched paths rises ×5 at those moments,
 * p99 near the 2 s timeout). Those are measured and printed, not asserted; `npm run bench:traffic`
 * has the full window and the naive baseline.
 */

/** One worker through the window behind HAProxy, with an engine restart instead of upgrade + reboot. */
function oneWorkerRunbook(worker: string): string {
  const stat = 'echo "show stat" | socat stdio unix-connect:${haproxy_socket}';
  return `version: 1
name: traffic-one-worker
targets: { names: [${worker}] }
variables:
  haproxy_socket: { env: DRYDOCK_HAPROXY_SOCKET }
connection:
  ssh: { user: root, sshConfig: false, connectTimeout: 30s }
  docker: { via: ssh }
checks:
  between: [node-ready]
  afterNode: [node-ready, services-converged, ingress-mesh, published-ports]
  options:
    services-converged: { timeout: 5m }
    ingress-mesh: { timeout: 3m }
    published-ports: { timeout: 3m, paths: { "8080": "/", "8090": "/" } }
stages:
  - kind: local
    name: lb-drain
    commands:
      - ${stat} | awk -F, -v s=\${node.name} '$2 == s { print "set server " $1 "/" s " state drain" }' | socat stdio unix-connect:\${haproxy_socket}
    until:
      command: ${stat} | awk -F, -v s=\${node.name} '$2 == s { found = 1; if ($5 != 0) busy = 1 } END { exit !(found && !busy) }'
      timeout: 2m
  - { kind: drain, name: drain, timeout: 5m, moveTimeout: 5m }
  - { kind: run, name: engine-restart, timeout: 5m, commands: ["systemctl restart docker"] }
  - { kind: checks, name: engine-back, run: [swarm-state, ingress-mesh] }
  - { kind: activate, name: rejoin, timeout: 5m }
  - kind: local
    name: lb-ready
    commands:
      - ${stat} | awk -F, -v s=\${node.name} '$2 == s { print "set server " $1 "/" s " state ready" }' | socat stdio unix-connect:\${haproxy_socket}
    until:
      command: ${stat} | awk -F, -v s=\${node.name} '$2 == s { found = 1; if ($18 !~ /^UP/) down = 1 } END { exit !(found && !down) }'
      timeout: 2m
`;
}

describe('live traffic through the window (mesh lab)', () => {
  // The lab's web-graceful HEALTHCHECK tolerates a starved VM (10 s interval, 30 s timeout, 3
  // retries): with the morning's 5 s checks Swarm stopped healthy tasks on a busy host, and this
  // test was opt-in then. Timeouts are printed, not asserted (see the comment above).
  it.skipIf(!enabled)(
    'a well-behaved app sees no refused or reset request via the LB or healthy nodes while drydock maintains a worker',
    async () => {
      const lab = readMeshLab();
      const worker = lab.nodes.find((n) => n.role === 'worker')!.name;
      const runbook = writeRunbook(dir, 'one-worker.yaml', oneWorkerRunbook(worker));
      const out = join(dir, 'window');
      const window = await execa(
        process.execPath,
        [
          join(ROOT, 'bench/traffic/run-window.mjs'),
          '--procedure',
          'drydock',
          '--runbook',
          runbook,
          '--noise',
          '20',
          '--max-minutes',
          '30',
          '--out',
          out,
        ],
        {
          reject: false,
          env: { DRYDOCK_HAPROXY_SOCKET: join(lab.dir, 'haproxy/admin.sock') },
          timeout: 45 * 60_000,
        },
      );
      const why = `${window.stdout}\n${window.stderr}\n${readFileSync(join(out, 'procedure.log'), 'utf8').slice(-3000)}`;
      // The table, for the record (the numbers the closing note quotes come from the bench run).
      console.log(window.stdout);
      expect(window.exitCode, why).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { apps: AppSummary[] };
      const graceful = summary.apps.find((a) => a.app === 'web-graceful')!;
      expect(graceful.classes.lb.requests, why).toBeGreaterThan(0);
      expect(graceful.classes.healthy.requests, why).toBeGreaterThan(0);
      // A black hole, a stopped backend still routed to, a node without its mesh: refused or reset.
      for (const cls of ['lb', 'healthy'] as const) {
        const { outcomes } = graceful.classes[cls];
        expect({ refused: outcomes.refused ?? 0, reset: outcomes.reset ?? 0 }, `${why}\nvia ${cls}`).toEqual({
          refused: 0,
          reset: 0,
        });
      }
    },
    50 * 60_000,
  );
});
