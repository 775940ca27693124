import { labDocker, readLab } from '../lab/lab.js';

/**
 * Put the lab back to a healthy baseline between tests: heal what a test broke, remove the
 * cluster lock, set every node active, set the demo services back to the lab's replica counts
 * (a run interrupted while its manager was unreachable could not scale back what it moved
 * first: its resume would, but a test may not resume it), and wait until every service is at
 * full count.
 */
export async function resetLab(): Promise<void> {
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
