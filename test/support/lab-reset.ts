import { labDocker, readLab } from '../lab/lab.js';

/**
 * Put the lab back to a healthy baseline between tests: heal what a test broke, remove the
 * cluster lock, set every node active, and wait until every service is at full count.
 */
export async function resetLab(): Promise<void> {
  const lab = readLab();
  const manager = lab.nodes.find((n) => n.role === 'manager')!;
  const docker = labDocker(manager.name, lab);
  await docker('config', 'rm', 'drydock-lock');
  for (const n of lab.nodes) await docker('node', 'update', '--availability', 'active', n.name);
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
