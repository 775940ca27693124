import { type FaultName, healFault, type LabNode, labDocker, readLab, waitFor } from '../lab/lab.js';

/**
 * Put the lab back to a healthy baseline between tests: heal the faults a test left and start
 * a node's sshd or dockerd that is down (said on stderr: it names the test that broke it), remove the
 * cluster lock, set every node active, set the demo services back to the lab's replica counts
 * (a run interrupted while its manager was unreachable could not scale back what it moved
 * first: its resume would, but a test may not resume it), and wait until every service is at
 * full count.
 */
export async function resetLab(): Promise<void> {
  await reviveNodes();
  const lab = readLab();
  const manager = lab.nodes.find((n) => n.role === 'manager')!;
  const docker = labDocker(manager.name, lab);
  await docker('config', 'rm', 'drydock-lock');
  for (const n of lab.nodes) await docker('node', 'update', '--availability', 'active', n.name);
  // As lab.sh's create_demo_stack: 2 replicas (1 per node), 1 on a lab of 2 nodes or fewer.
  const replicas = lab.nodes.length <= 2 ? 1 : 2;
  for (const service of ['web', 'api']) {
    const now = await docker('service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', service);
    if (now.exitCode === 0 && now.stdout.trim() !== String(replicas)) {
      await docker('service', 'scale', '--detach', `${service}=${replicas}`);
    }
  }
  await waitConverged(docker);
}

export async function waitConverged(
  docker: ReturnType<typeof labDocker>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const nodes = await docker('node', 'ls', '--format', '{{.Status}}');
    const services = await docker('service', 'ls', '--format', '{{.Name}} {{.Replicas}}');
    last = `${nodes.stdout} ${services.stdout}`;
    const ready =
      nodes.exitCode === 0 &&
      nodes.stdout
        .trim()
        .split('\n')
        .every((s) => s === 'Ready');
    const converged =
      services.exitCode === 0 &&
      services.stdout
        .trim()
        .split('\n')
        .every((line) => {
          const [current, desired] = (line.split(' ')[1] ?? '').split('/');
          return current !== undefined && current === desired;
        });
    if (ready && converged) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`lab did not converge: ${last}`);
}

/** A fault mark's file name (lab.sh: "block-port-8080", "route-10.0.0.0_24") as heal arguments. */
function healArgsOf(mark: string, args: string): { name: FaultName; args: string[] } {
  for (const [prefix, name] of [
    ['block-port-', 'block-port'],
    ['unschedulable-', 'unschedulable'],
    ['route-', 'route'],
  ] as const) {
    if (mark.startsWith(prefix)) {
      const arg = mark.slice(prefix.length);
      return { name, args: [name === 'route' ? arg.replaceAll('_', '/') : arg] };
    }
  }
  return { name: mark as FaultName, args: args.split(' ').filter(Boolean) };
}

/**
 * Heal what an earlier test left broken, so that one failure does not fail every later test:
 * its faults, a reboot still under way, a node whose sshd or dockerd is not running.
 */
async function reviveNodes(): Promise<void> {
  const revive = async (node: LabNode, what: string, heal: () => Promise<void>) => {
    console.error(`resetLab: ${node.name}: ${what}; healing it for the next test`);
    await heal();
  };
  for (const node of readLab().nodes) {
    for (const fault of node.faults) {
      const heal = healArgsOf(fault.name, fault.args);
      await revive(node, `fault ${fault.name}${fault.args ? ` (${fault.args})` : ''} was left set`, () =>
        healFault(heal.name, node.name, ...heal.args),
      );
    }
  }
  await waitFor(async () => readLab().nodes.every((n) => n.rebootPid === null), 120_000, {
    what: 'reboots under way to finish',
  });
  for (const node of readLab().nodes) {
    // Powering on starts both daemons.
    if (node.power === 'down') {
      await revive(node, 'powered down', () => healFault('no-return', node.name));
      continue;
    }
    if (node.dockerdPid === null)
      await revive(node, 'dockerd is not running', () => healFault('dockerd', node.name));
    if (node.sshdPid === null) await revive(node, 'sshd is not running', () => healFault('sshd', node.name));
  }
}
