import type { CheckResult } from '../checks/types.js';
import type { OperatorGate } from './events.js';
import type { ClusterPort } from './ports.js';

/**
 * Interactive only: services that did not converge may be force-updated (`docker service
 * update --force`) if the operator agrees. Unattended runs never do this here; the
 * services-converged check's own `remediate` option covers that, opt-in.
 * True when something was force-updated (so the checks are worth running again).
 */
export async function offerForceUpdate(
  run: {
    gate: OperatorGate | undefined;
    cluster: ClusterPort;
    ask<T>(question: () => Promise<T>): Promise<T>;
    note(node: string, message: string): void;
  },
  node: string,
  failed: CheckResult[],
): Promise<boolean> {
  const gate = run.gate;
  if (!gate?.offerRemediation) return false;
  const services = [
    ...new Set(
      failed
        .filter((c) => c.check === 'services-converged')
        .map((c) => (c.evidence as { service?: string } | undefined)?.service)
        .filter((s): s is string => typeof s === 'string'),
    ),
  ];
  if (services.length === 0) return false;
  if (!(await run.ask(() => gate.offerRemediation!(node, services)))) return false;
  const swarm = await run.cluster.swarm();
  const all = await swarm.listServices();
  for (const name of services) {
    const service = all.find((s) => s.name === name);
    if (!service) continue;
    await swarm.forceUpdateService(service.id);
    run.note(node, `force-updated service ${name} (operator's choice)`);
  }
  return true;
}
