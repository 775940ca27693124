import { labDocker, readLab } from '../lab/lab.js';

export interface LabRunbookOptions {
  name?: string;
  /** YAML for `targets` (e.g. `{ roles: [worker] }`). */
  targets?: string;
  patch?: string[];
  upgrade?: string[];
  reboot?: 'always' | 'if-required';
  returnTimeout?: string;
  /** Extra stages inserted first (YAML list items, already indented by two spaces). */
  firstStages?: string;
  between?: string[];
  afterNode?: string[];
}

/**
 * The five-stage lab runbook with knobs for tests. The first patch command prints how many
 * swarm task containers run on the node: 0 proves the drain moved them before patching.
 */
/** The runbook `connection:` section that reaches the current lab (strict host keys, its managers). */
export function labConnection(): string {
  const lab = readLab();
  const managers = lab.nodes.filter((n) => n.role === 'manager').map((n) => n.ip);
  return `connection:
  ssh:
    user: root
    identityFile: ${lab.sshKey}
    knownHosts: ${lab.knownHosts}
    sshConfig: false
    connectTimeout: 5s
  docker:
    via: ssh
    managers: [${managers.join(', ')}]`;
}

export function labRunbook(options: LabRunbookOptions = {}): string {
  const lab = readLab();
  const patch = options.patch ?? [
    'echo tasks-on-node=$(docker ps -q --filter label=com.docker.swarm.task.id | wc -l)',
    'apt-get update',
    'DEBIAN_FRONTEND=noninteractive apt-get -y upgrade',
  ];
  const upgrade = options.upgrade ?? [
    'apt-get install -y docker.io=${docker_version}',
    "timeout 20 sh -c 'until docker info >/dev/null 2>&1; do sleep 0.2; done'",
  ];
  const list = (items: string[]) => items.map((c) => `      - ${JSON.stringify(c)}`).join('\n');
  return `version: 1
name: ${options.name ?? 'lab-test'}
variables:
  docker_version: "20.10.24+dfsg1-1+deb12u1"
${options.targets ? `targets: ${options.targets}\n` : ''}${labConnection()}
checks:
  between: [${(options.between ?? ['node-ready', 'ip-route']).join(', ')}]
  afterNode: [${(options.afterNode ?? ['node-ready', 'manager-quorum', 'services-converged', 'ip-route']).join(', ')}]
  options:
    services-converged: { timeout: 90s }
stages:
${options.firstStages ?? ''}  - { kind: drain, name: drain, timeout: 90s }
  - kind: run
    name: patch
    timeout: 60s
    commands:
${list(patch)}
  - kind: run
    name: upgrade
    timeout: 60s
    commands:
${list(upgrade)}
  - { kind: reboot, name: reboot, when: ${options.reboot ?? 'if-required'}, returnTimeout: ${options.returnTimeout ?? '60s'} }
  - { kind: activate, name: rejoin, timeout: 90s }
  - { kind: checks, name: verify, run: [node-ready, swarm-state, reboot-observed, services-converged] }
`;
}

/** Availability of every node, read from a manager that answers. */
export async function nodeAvailability(): Promise<Record<string, string>> {
  const lab = readLab();
  for (const m of lab.nodes.filter((n) => n.role === 'manager')) {
    const r = await labDocker(m.name, lab)('node', 'ls', '--format', '{{.Hostname}} {{.Availability}}');
    if (r.exitCode === 0) {
      return Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
    }
  }
  throw new Error('no manager answers');
}
