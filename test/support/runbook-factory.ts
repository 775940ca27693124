import { toClusterNodeFacts } from '../../src/executor/read-cluster-facts.js';
import type { ClusterFacts } from '../../src/plan/types.js';
import { parseRunbookText } from '../../src/runbook/parse.js';
import type { Runbook } from '../../src/runbook/types.js';
import type { SwarmNode } from '../../src/transport/types.js';

/** A runbook from inline YAML (real parser, real defaults). */
export function runbookFrom(yaml: string, file = 'inline.yaml'): Runbook {
  return parseRunbookText(yaml, file, { env: {} });
}

export const FIVE_STAGES = `
version: 1
name: five
checks:
  between: [node-ready]
  afterNode: [services-converged]
stages:
  - { kind: drain, name: drain, timeout: 1m }
  - { kind: run, name: patch, commands: ["apt-get -y upgrade"] }
  - { kind: reboot, name: reboot, when: always, returnTimeout: 1m }
  - { kind: activate, name: rejoin }
  - { kind: checks, name: verify, run: [node-ready] }
`;

/**
 * Planner facts of nodes built with the fake swarm's builders, as an inventory would give them
 * (the same projection `readClusterFacts` makes of a live swarm).
 */
export function cluster(nodes: SwarmNode[]): ClusterFacts {
  return {
    source: 'inventory',
    origin: 'test',
    nodes: nodes.map(toClusterNodeFacts),
    services: [],
  };
}
