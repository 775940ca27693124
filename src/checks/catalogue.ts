import { CHECK_NAMES } from '../runbook/schema.js';
import type { CheckOptions } from '../runbook/types.js';
import { overlayDnsCheck } from './dns.js';
import { ingressMeshCheck, ingressPeersCheck, publishedPortsCheck } from './ingress.js';
import { engineVersionCheck, nodeReadyCheck, rebootObservedCheck, swarmStateCheck } from './node.js';
import { managerQuorumCheck } from './quorum.js';
import { clockSkewCheck, ipRouteCheck } from './routes.js';
import { servicesConvergedCheck } from './services.js';
import type { CheckCatalogue, CheckName } from './types.js';

/** Every check by name: a mapped type, so a new CheckName does not compile without a handler. */
export const checkCatalogue: CheckCatalogue = {
  'node-ready': nodeReadyCheck,
  'manager-quorum': managerQuorumCheck,
  'engine-version': engineVersionCheck,
  'swarm-state': swarmStateCheck,
  'reboot-observed': rebootObservedCheck,
  'services-converged': servicesConvergedCheck,
  'ingress-peers': ingressPeersCheck,
  'published-ports': publishedPortsCheck,
  'ingress-mesh': ingressMeshCheck,
  'overlay-dns': overlayDnsCheck,
  'ip-route': ipRouteCheck,
  'clock-skew': clockSkewCheck,
};

/** Check options when no runbook gives them (the schema's defaults, with drydock's timeouts). */
export function defaultCheckOptions(timeoutMs = 30_000): CheckOptions {
  return {
    'node-ready': { timeoutMs },
    'manager-quorum': { timeoutMs },
    'engine-version': { managersNotBehindWorkers: true },
    'swarm-state': { timeoutMs },
    'reboot-observed': {},
    'services-converged': { timeoutMs, remediate: false, ignore: [] },
    'ingress-peers': { timeoutMs },
    'published-ports': { timeoutMs, paths: {}, fromCluster: false, connectTimeoutMs: 3000 },
    'ingress-mesh': {},
    'overlay-dns': { timeoutMs, services: [] },
    'ip-route': { onDiff: 'warn', requireDefaultRoute: true },
    'clock-skew': { maxMs: 2000 },
  };
}

/** Checks that make sense on a live cluster without a run (no reboot happened, no stage began). */
export const STANDALONE_CHECKS: CheckName[] = CHECK_NAMES.filter((name) => name !== 'reboot-observed');
