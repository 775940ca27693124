// TypeScript handle on the MESH lab (lab/mesh-lab.sh): QEMU VMs whose kernel has IPVS, so the swarm
// ingress routing mesh is real. Everything shells out to mesh-lab.sh or talks real HTTP/docker: no mocks.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';

export const MESH_LAB_SH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../lab/mesh-lab.sh',
);

export type MeshRole = 'manager' | 'worker';

export interface MeshNode {
  name: string;
  ip: string;
  role: MeshRole;
  /** tcp://IP:2375 — plain TCP, reachable only on the lab bridge. */
  dockerHost: string;
  sshPort: number;
  /** PID of the VM's qemu process (stays the same across a guest reboot). */
  pid: number | null;
  running: boolean;
}

export interface MeshLabInfo {
  dir: string;
  nodeCount: number;
  up: boolean;
  bridge: string;
  subnet: string;
  user: 'root';
  sshKey: string;
  knownHosts: string;
  image: string;
  /** Published port of the demo service `web` (ingress mode). */
  webPort: number;
  nodes: MeshNode[];
  /** Active faults, "NAME vmK ARGS". */
  faults: string[];
}

export type MeshFaultName =
  | 'ingress-rule'
  | 'ipvs-backend'
  | 'mesh-port'
  | 'peer'
  | 'default-route'
  | 'dockerd'
  | 'cut-link'
  | 'power';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type NodeRef = string | MeshNode;
const nodeName = (n: NodeRef): string => (typeof n === 'string' ? n : n.name);

function toResult(r: { stdout?: unknown; stderr?: unknown; exitCode?: number }): ExecResult {
  return {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? -1,
  };
}

async function meshSh(args: string[], timeoutMs = 300_000, echo = false): Promise<ExecResult> {
  const r = await execa('bash', [MESH_LAB_SH, ...args], {
    reject: false,
    timeout: timeoutMs,
    // long steps (up/down) tee their progress log to the test output
    stderr: echo ? ['pipe', 'inherit'] : 'pipe',
  });
  const res = toResult(r);
  if (res.exitCode !== 0) {
    throw new Error(
      `mesh-lab.sh ${args.join(' ')} failed (${res.exitCode}${r.timedOut ? ', timed out' : ''}):\n${res.stderr}\n${res.stdout}`,
    );
  }
  return res;
}

/** Parse `mesh-lab.sh status --json` (synchronous and cheap: reads state files, no network). */
export function readMeshLab(): MeshLabInfo {
  const r = execaSync('bash', [MESH_LAB_SH, 'status', '--json'], { reject: false });
  if (r.exitCode !== 0) throw new Error(`mesh-lab.sh status --json failed: ${String(r.stderr)}`);
  return JSON.parse(String(r.stdout)) as MeshLabInfo;
}

export function meshNode(name: string, lab: MeshLabInfo = readMeshLab()): MeshNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no mesh node ${name} (have ${lab.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

/** Boot the VMs, form the swarm, deploy `web`, wait until :webPort answers on every VM. Idempotent. */
export async function meshUp(opts: { nodes?: number; echo?: boolean } = {}): Promise<MeshLabInfo> {
  await meshSh(['up', '--nodes', String(opts.nodes ?? 3)], 900_000, opts.echo ?? false);
  return readMeshLab();
}

export async function meshDeps(echo = false): Promise<void> {
  await meshSh(['deps'], 900_000, echo);
}

/** Stop the recorded qemu PIDs, remove taps/bridge/rule/state (kernel + image cache stay). */
export async function meshDown(echo = false): Promise<void> {
  await meshSh(['down'], 120_000, echo);
}

export async function meshFault(name: MeshFaultName, node: NodeRef, ...args: string[]): Promise<void> {
  await meshSh(['fault', name, nodeName(node), ...args], 120_000);
}

export async function meshHeal(name: MeshFaultName, node: NodeRef, ...args: string[]): Promise<void> {
  // heals of dockerd/cut-link/power/peer return only once the node is back in the mesh
  await meshSh(['heal', name, nodeName(node), ...args], 600_000);
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run a command on a VM over ssh (lab key, strict host-key checking). A string is run by the
 * remote shell as is; an array is quoted word by word. Never throws on a non-zero exit.
 */
export async function meshExec(
  node: NodeRef,
  cmd: string | string[],
  timeoutMs = 60_000,
): Promise<ExecResult> {
  const line = typeof cmd === 'string' ? cmd : cmd.map(shQuote).join(' ');
  const r = await execa('bash', [MESH_LAB_SH, 'exec', nodeName(node), '--', line], {
    reject: false,
    timeout: timeoutMs,
  });
  return toResult(r);
}

/** Reboot a VM for real (its `reboot`: stop dockerd, sync, reset). Returns at once. */
export async function meshReboot(node: NodeRef): Promise<void> {
  await meshSh(['reboot', nodeName(node)], 60_000);
}

/** Wait until a VM's dockerd answers and ssh (strict host key) works. */
export async function meshWaitVm(node: NodeRef, timeoutSec = 400): Promise<void> {
  await meshSh(['wait', nodeName(node), String(timeoutSec)], (timeoutSec + 30) * 1000);
}

/** docker CLI against a VM's engine over tcp://IP:2375. Never throws on a non-zero exit. */
export async function meshDocker(node: MeshNode, ...args: string[]): Promise<ExecResult> {
  const r = await execa('docker', ['-H', node.dockerHost, ...args], { reject: false, timeout: 120_000 });
  return toResult(r);
}

/**
 * HTTP GET on a fresh TCP connection (no keep-alive pool, so every probe takes a new trip through
 * DNAT/IPVS). Resolves to the status code, or 0 when the connection fails or times out.
 */
export function httpStatus(host: string, port: number, urlPath = '/', timeoutMs = 5_000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

/** Poll until check() is truthy; throws with `what` after timeoutMs. Returns the truthy value. */
export async function meshWaitFor<T>(
  what: string,
  check: () => Promise<T | false | null | undefined>,
  timeoutMs = 120_000,
  intervalMs = 2_000,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
