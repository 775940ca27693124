import type { ClusterFacts, ClusterNodeFacts } from '../plan/types.js';
import type { SwarmApi, SwarmNode } from '../transport/types.js';

/** Read the cluster's nodes and services through read-only API calls, for planning. */
export async function readClusterFacts(swarm: SwarmApi): Promise<ClusterFacts> {
  const [nodes, services, tasks] = await Promise.all([
    swarm.listNodes(),
    swarm.listServices(),
    swarm.listTasks({ desiredState: 'running' }),
  ]);
  const names = new Map(services.map((s) => [s.id, s.name]));
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
        constraints: s.constraints,
        ...(s.healthcheck ? { healthcheck: s.healthcheck } : {}),
        ...(s.stopGracePeriodMs !== undefined ? { stopGracePeriodMs: s.stopGracePeriodMs } : {}),
        ...(s.maxReplicasPerNode ? { maxReplicasPerNode: s.maxReplicasPerNode } : {}),
      })),
    // Where tasks run, for the traffic warnings: only those meant to run, on a node.
    tasks: tasks.flatMap((t) =>
      t.nodeId && names.has(t.serviceId)
        ? [{ service: names.get(t.serviceId) ?? '', nodeId: t.nodeId, state: t.state }]
        : [],
    ),
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
