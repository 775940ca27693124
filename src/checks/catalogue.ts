import { normalizeCheckOptions } from '../runbook/normalize.js';
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

/**
 * Check options when no runbook gives them: each check's schema defaults (what a runbook without
 * `checks.options` gets). `timeoutMs`, when given, replaces the wait of every converging check.
 */
export function defaultCheckOptions(timeoutMs?: number): CheckOptions {
  const options = normalizeCheckOptions({});
  if (timeoutMs === undefined) return options;
  // Why: fromEntries loses the per-name types; each entry keeps its check's shape.
  return Object.fromEntries(
    CHECK_NAMES.map((name) => {
      const own = options[name];
      return [name, 'timeoutMs' in own ? { ...own, timeoutMs } : own];
    }),
  ) as CheckOptions;
}

/** Checks that make sense on a live cluster without a run (no reboot happened, no stage began). */
export const STANDALONE_CHECKS: CheckName[] = CHECK_NAMES.filter((name) => name !== 'reboot-observed');
