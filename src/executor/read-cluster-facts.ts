import type { ClusterFacts, ClusterNodeFacts } from '../plan/types.js';
import type { SwarmApi, SwarmNode } from '../transport/types.js';

/** Read the cluster's nodes and services through read-only API calls, for planning. */
export async function readClusterFacts(swarm: SwarmApi): Promise<ClusterFacts> {
  const [nodes, services] = await Promise.all([swarm.listNodes(), swarm.listServices()]);
  return {
    source: 'docker',
    origin: swarm.endpoint,
    nodes: nodes.map(toClusterNodeFacts),
    services: services
      .filter((s) => s.mode !== 'other')
      .map((s) => ({
        name: s.name,
        mode: s.mode as 'replicated' | 'global',
        ...(s.replicas !== undefined ? { replicas: s.replicas } : {}),
        ports: s.ports,
      })),
  };
}

/** What the planner needs of one node, as the Engine API reports it. */
export function toClusterNodeFacts(n: SwarmNode): ClusterNodeFacts {
  return {
    id: n.id,
    hostname: n.hostname,
    address: n.address,
    role: n.role,
    leader: n.manager?.leader ?? false,
    availability: n.availability,
    state: n.state,
    ...(n.manager ? { reachability: n.manager.reachability } : {}),
    labels: n.labels,
    engineVersion: n.engineVersion,
  };
}
