import type { ClusterFacts, NodeFacts } from '../../src/plan/types.js';
import { parseRunbookText } from '../../src/runbook/parse.js';
import type { Runbook } from '../../src/runbook/types.js';

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

export function node(hostname: string, overrides: Partial<NodeFacts> = {}): NodeFacts {
  return {
    id: `id-${hostname}`,
    hostname,
    address: `10.0.0.${hostname.replace(/\D/g, '') || '1'}`,
    role: 'worker',
    leader: false,
    availability: 'active',
    state: 'ready',
    labels: {},
    engineVersion: '20.10.24',
    ...overrides,
  };
}

export function manager(hostname: string, leader = false, overrides: Partial<NodeFacts> = {}): NodeFacts {
  return node(hostname, { role: 'manager', leader, reachability: 'reachable', ...overrides });
}

export function cluster(nodes: NodeFacts[]): ClusterFacts {
  return { source: 'inventory', origin: 'test', nodes, services: [] };
}
