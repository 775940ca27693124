import type {
  EngineInfo,
  PublishedPort,
  SwarmEvent,
  SwarmNetwork,
  SwarmNode,
  SwarmService,
  SwarmTask,
} from './types.js';

/** Engine API objects -> the port's types. Pure: unit-tested on recorded JSON. */

// biome-ignore lint/suspicious/noExplicitAny: Engine API JSON is loosely typed by @types/dockerode.
export type Json = any;

export function mapNode(raw: Json): SwarmNode {
  const manager = raw.ManagerStatus;
  return {
    id: raw.ID,
    version: raw.Version?.Index ?? 0,
    hostname: raw.Description?.Hostname ?? '',
    role: raw.Spec?.Role === 'manager' ? 'manager' : 'worker',
    availability: raw.Spec?.Availability ?? 'active',
    state: raw.Status?.State ?? 'unknown',
    address: raw.Status?.Addr ?? '',
    labels: raw.Spec?.Labels ?? {},
    engineVersion: raw.Description?.Engine?.EngineVersion ?? '',
    ...(manager
      ? {
          manager: {
            leader: manager.Leader === true,
            reachability: manager.Reachability ?? 'unknown',
            addr: manager.Addr ?? '',
          },
        }
      : {}),
  };
}

export function mapService(raw: Json): SwarmService {
  const spec = raw.Spec ?? {};
  const mode = spec.Mode ?? {};
  const ports: PublishedPort[] = (raw.Endpoint?.Ports ?? spec.EndpointSpec?.Ports ?? [])
    .filter((p: Json) => p.PublishedPort !== undefined)
    .map((p: Json) => ({
      published: p.PublishedPort,
      target: p.TargetPort,
      protocol: p.Protocol ?? 'tcp',
      mode: p.PublishMode ?? 'ingress',
    }));
  return {
    id: raw.ID,
    name: spec.Name ?? '',
    version: raw.Version?.Index ?? 0,
    mode: mode.Replicated ? 'replicated' : mode.Global ? 'global' : 'other',
    ...(mode.Replicated ? { replicas: mode.Replicated.Replicas ?? 1 } : {}),
    ...(raw.ServiceStatus
      ? { runningTasks: raw.ServiceStatus.RunningTasks, desiredTasks: raw.ServiceStatus.DesiredTasks }
      : {}),
    ...(raw.UpdateStatus?.State ? { updateState: raw.UpdateStatus.State } : {}),
    ports,
    endpointMode: spec.EndpointSpec?.Mode === 'dnsrr' ? 'dnsrr' : 'vip',
    virtualIps: (raw.Endpoint?.VirtualIPs ?? []).map((v: Json) => ({ networkId: v.NetworkID, addr: v.Addr })),
    networks: (spec.TaskTemplate?.Networks ?? spec.Networks ?? []).map((n: Json) => n.Target),
    constraints: spec.TaskTemplate?.Placement?.Constraints ?? [],
    labels: spec.Labels ?? {},
    healthcheck: mapHealthcheck(spec.TaskTemplate?.ContainerSpec?.Healthcheck),
    // Nanoseconds in the API; Docker stops a task's container after 10 s when the spec says nothing.
    stopGracePeriodMs:
      typeof spec.TaskTemplate?.ContainerSpec?.StopGracePeriod === 'number'
        ? Math.round(spec.TaskTemplate.ContainerSpec.StopGracePeriod / 1e6)
        : DEFAULT_STOP_GRACE_MS,
    ...(spec.TaskTemplate?.Placement?.MaxReplicas > 0
      ? { maxReplicasPerNode: spec.TaskTemplate.Placement.MaxReplicas }
      : {}),
  };
}

/** Docker's stop grace period when a service does not set one. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** `Test: ["NONE"]` disables any healthcheck (the image's too); no `Test` inherits the image's. */
function mapHealthcheck(raw: Json): NonNullable<SwarmService['healthcheck']> {
  const test: unknown = raw?.Test;
  if (!Array.isArray(test) || test.length === 0) return 'not-in-spec';
  return test[0] === 'NONE' ? 'disabled' : 'defined';
}

export function mapTask(raw: Json): SwarmTask {
  const status = raw.Status ?? {};
  return {
    id: raw.ID,
    serviceId: raw.ServiceID,
    ...(raw.NodeID ? { nodeId: raw.NodeID } : {}),
    ...(raw.Slot !== undefined ? { slot: raw.Slot } : {}),
    desiredState: raw.DesiredState ?? '',
    state: status.State ?? '',
    ...(status.Err ? { error: status.Err } : {}),
    ...(status.Message ? { message: status.Message } : {}),
    timestamp: status.Timestamp ?? raw.UpdatedAt ?? '',
    ...(status.ContainerStatus?.ContainerID ? { containerId: status.ContainerStatus.ContainerID } : {}),
    addresses: (raw.NetworksAttachments ?? []).flatMap((a: Json) => a.Addresses ?? []),
    // The routing mesh (ingress_sbox's IPVS) balances over these only, not over other overlays.
    ingressAddresses: (raw.NetworksAttachments ?? [])
      .filter((a: Json) => a.Network?.Spec?.Ingress === true || a.Network?.Spec?.Name === 'ingress')
      .flatMap((a: Json) => a.Addresses ?? []),
  };
}

export function mapNetwork(raw: Json): SwarmNetwork {
  const services: SwarmNetwork['services'] = {};
  for (const [name, service] of Object.entries<Json>(raw.Services ?? {})) {
    // The empty-named entry is the network's own load balancer endpoint, not a service.
    if (name === '') continue;
    services[name] = {
      vip: service.VIP ?? '',
      tasks: (service.Tasks ?? []).map((t: Json) => ({ name: t.Name, endpointIp: t.EndpointIP })),
    };
  }
  return {
    id: raw.Id,
    name: raw.Name,
    driver: raw.Driver ?? '',
    scope: raw.Scope ?? '',
    ingress: raw.Ingress === true,
    subnets: (raw.IPAM?.Config ?? [])
      .map((c: Json) => c.Subnet)
      .filter((x: unknown) => typeof x === 'string'),
    peers: (raw.Peers ?? []).map((p: Json) => ({ name: p.Name, ip: p.IP })),
    services,
  };
}

export function mapInfo(raw: Json): EngineInfo {
  const swarm = raw.Swarm ?? {};
  return {
    nodeId: swarm.NodeID ?? '',
    hostname: raw.Name ?? '',
    serverVersion: raw.ServerVersion ?? '',
    localNodeState: swarm.LocalNodeState ?? 'inactive',
    controlAvailable: swarm.ControlAvailable === true,
    error: swarm.Error ?? '',
    managers: swarm.Managers ?? 0,
    nodes: swarm.Nodes ?? 0,
    ...(Array.isArray(swarm.Cluster?.DefaultAddrPool)
      ? { defaultAddrPool: swarm.Cluster.DefaultAddrPool as string[] }
      : {}),
  };
}

export function mapEvent(raw: Json): SwarmEvent {
  return {
    type: raw.Type ?? '',
    action: raw.Action ?? '',
    id: raw.Actor?.ID ?? '',
    attributes: raw.Actor?.Attributes ?? {},
    time: raw.timeNano ? Math.floor(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000,
  };
}
