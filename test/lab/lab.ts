// TypeScript handle on the namespace lab (lab/lab.sh) for integration tests.
// Everything here shells out to lab.sh or to real ssh/docker/curl: no mocks.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';

export const LAB_SH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lab/lab.sh');

export type LabRole = 'manager' | 'worker';

export interface LabFault {
  name: string;
  args: string;
}

export interface LabNode {
  name: string;
  ip: string;
  role: LabRole;
  netns: string;
  /** Host path of the node's dockerd socket (for dockerode / docker -H). */
  dockerSocket: string;
  holderPid: number | null;
  sshdPid: number | null;
  dockerdPid: number | null;
  /** PID of a reboot in progress, else null. */
  rebootPid: number | null;
  /** up | rebooting | down (after a no-return reboot) */
  power: string;
  bootId: string;
  rebootDelay: number;
  upgradeResult: 'ok' | 'fail';
  patchNeedsReboot: 'yes' | 'no';
  memoryBytes: number;
  faults: LabFault[];
}

export interface LabInfo {
  labDir: string;
  up: boolean;
  nodeCount: number;
  managers: number;
  user: 'root';
  sshKey: string;
  knownHosts: string;
  sshConfig: string;
  bridge: string;
  hostIp: string;
  subnet: string;
  image: string;
  /** The real engine version every node runs (the apt-get shim never changes it). */
  engineVersion: string;
  upSeconds: number | null;
  nodes: LabNode[];
}

export type FaultName =
  | 'default-route'
  | 'route'
  | 'dockerd'
  | 'sshd'
  | 'no-return'
  | 'block-port'
  | 'unschedulable'
  | 'clock-skew'
  | 'host-key'
  | 'cut-link'
  | 'engine-upgrade-fail'
  | 'freeze-dockerd'
  | 'freeze-sshd'
  | 'drop-link';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type NodeRef = string | LabNode;
const nodeName = (n: NodeRef): string => (typeof n === 'string' ? n : n.name);

function toResult(r: { stdout?: unknown; stderr?: unknown; exitCode?: number }): ExecResult {
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
}

async function labSh(args: string[], timeoutMs = 300_000): Promise<ExecResult> {
  const r = await execa('bash', [LAB_SH, ...args], { reject: false, timeout: timeoutMs });
  const res = toResult(r);
  if (res.exitCode !== 0) {
    throw new Error(`lab.sh ${args.join(' ')} failed (${res.exitCode}):\n${res.stderr}\n${res.stdout}`);
  }
  return res;
}

/** Parse `lab.sh status --json` (synchronous: cheap, no network). */
export function readLab(): LabInfo {
  const r = execaSync('bash', [LAB_SH, 'status', '--json'], { reject: false });
  if (r.exitCode !== 0) throw new Error(`lab.sh status --json failed: ${String(r.stderr)}`);
  return JSON.parse(String(r.stdout)) as LabInfo;
}

export function labNode(name: string, lab: LabInfo = readLab()): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no lab node ${name} (have ${lab.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

export interface LabShape {
  nodes?: number;
  managers?: number;
  rebootDelay?: number;
}

/** Bring the lab up with this shape. Idempotent; a different shape is rebuilt (down + up). */
export async function labUp(shape: LabShape = {}): Promise<LabInfo> {
  const args = ['up', '--nodes', String(shape.nodes ?? 3), '--managers', String(shape.managers ?? 1)];
  if (shape.rebootDelay !== undefined) args.push('--reboot-delay', String(shape.rebootDelay));
  await labSh(args);
  return readLab();
}

export async function labDown(): Promise<void> {
  await labSh(['down']);
}

export async function injectFault(name: FaultName, node: NodeRef, ...args: string[]): Promise<void> {
  await labSh(['fault', name, nodeName(node), ...args]);
}

export async function healFault(name: FaultName, node: NodeRef, ...args: string[]): Promise<void> {
  await labSh(['heal', name, nodeName(node), ...args]);
}

/** lab.sh set-upgrade-result | set-reboot-delay | set-patch-reboot */
export async function labSet(
  setting: 'upgrade-result' | 'reboot-delay' | 'patch-reboot',
  node: NodeRef,
  value: string,
): Promise<void> {
  await labSh([`set-${setting}`, nodeName(node), value]);
}

/** Power-cycle a node from the host (same path as `reboot` run on the node). */
export async function labReboot(node: NodeRef): Promise<void> {
  await labSh(['reboot', nodeName(node)]);
}

/** Run a command inside a node (nsenter into its namespaces, no ssh). A string runs via sh -c. */
export async function labExec(
  node: NodeRef,
  cmd: string | string[],
  timeoutMs = 60_000,
): Promise<ExecResult> {
  const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  const r = await execa('bash', [LAB_SH, 'exec', nodeName(node), '--', ...argv], {
    reject: false,
    timeout: timeoutMs,
  });
  return toResult(r);
}

/** ssh args with strict host-key checking against the lab's known_hosts. */
export function sshArgs(lab: LabInfo, node: LabNode, connectTimeoutS = 3): string[] {
  return [
    '-i',
    lab.sshKey,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${lab.knownHosts}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `ConnectTimeout=${connectTimeoutS}`,
    '-o',
    'LogLevel=ERROR',
    `${lab.user}@${node.ip}`,
  ];
}

/** Run a command on a node over real ssh. exitCode 255 = ssh itself failed / connection dropped. */
export async function labSsh(node: NodeRef, cmd: string, timeoutMs = 60_000): Promise<ExecResult> {
  const lab = readLab();
  const n = labNode(nodeName(node), lab);
  const r = await execa('ssh', [...sshArgs(lab, n), cmd], { reject: false, timeout: timeoutMs });
  return toResult(r);
}

export type DockerCli = (...args: string[]) => Promise<ExecResult>;

/** `docker` CLI bound to a node's dockerd socket; never throws on a non-zero exit. */
export function labDocker(node: NodeRef, lab: LabInfo = readLab()): DockerCli {
  const n = labNode(nodeName(node), lab);
  return async (...args: string[]) => {
    const r = await execa('docker', ['-H', `unix://${n.dockerSocket}`, ...args], {
      reject: false,
      timeout: 60_000,
    });
    return toResult(r);
  };
}

/** Poll until fn returns a truthy value (exceptions count as "not yet"). Returns that value. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  opts: { intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'} (last: ${detail})`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}
