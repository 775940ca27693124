/**
 * Ports: the only way the executor and the checks reach the outside world. `ssh.ts` and
 * `docker.ts` implement them with ssh2 and dockerode; unit tests implement them with small fakes.
 */

/** Where and how to reach one node over SSH. */
export interface SshTarget {
  /** Swarm node hostname, used in messages and as the key for per-node state. */
  node: string;
  /** Host to connect to (address, or alias resolved through ~/.ssh/config). */
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  /** Use the agent at SSH_AUTH_SOCK when set. */
  agent: boolean;
  knownHostsFile: string;
  hostKeyPolicy: 'strict' | 'accept-new' | 'insecure-ignore';
  useSshConfig: boolean;
  connectTimeoutMs: number;
}

export interface ExecOptions {
  timeoutMs?: number;
  sudo?: boolean;
  /** Streamed output, line-buffered by the caller if it wants lines. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Abort the command (sends a signal to the remote process, then closes the channel). */
  signal?: AbortSignal;
  /** The command as it may be printed (secrets masked). Defaults to the command itself. */
  display?: string;
}

/** One result shape for success and failure (a non-zero exit is a result, not an exception). */
export interface CommandResult {
  node: string;
  /** The command as displayed (secrets masked). */
  command: string;
  /** null when the process did not exit normally (signal, timeout, lost connection). */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** The SSH connection dropped before the command finished. */
  connectionLost: boolean;
}

/** A shell on one node over one reused connection. */
export interface NodeShell {
  readonly node: string;
  exec(command: string, options?: ExecOptions): Promise<CommandResult>;
  /** Forward a connection to a unix socket on the node (for the Docker API over SSH). */
  openSocket?(path: string): Promise<import('node:stream').Duplex>;
  /** True until the connection drops or is closed. */
  readonly connected: boolean;
  /** Drop the connection (if any) and open it again on the same object, e.g. after a reboot. */
  reconnect?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Commands on the operator's machine (`kind: local` stages): the same result shape as a node's
 * shell, so the executor treats both alike. `local-exec.ts` implements it with execa.
 */
export interface LocalRunner {
  exec(command: string, options?: Omit<ExecOptions, 'sudo'>): Promise<CommandResult>;
}

export interface ShellFactory {
  connect(target: SshTarget): Promise<NodeShell>;
}

/** Swarm node as drydock needs it (a projection of the Engine API's Node object). */
export interface SwarmNode {
  id: string;
  version: number;
  hostname: string;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
  state: 'unknown' | 'down' | 'ready' | 'disconnected';
  address: string;
  labels: Record<string, string>;
  engineVersion: string;
  manager?: { leader: boolean; reachability: 'unknown' | 'unreachable' | 'reachable'; addr: string };
}

export interface PublishedPort {
  published: number;
  target: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
}

export interface SwarmService {
  id: string;
  name: string;
  version: number;
  mode: 'replicated' | 'global' | 'other';
  /** Desired replicas (replicated mode). */
  replicas?: number;
  /** From the API's ServiceStatus when available (API ≥ 1.41). */
  runningTasks?: number;
  desiredTasks?: number;
  updateState?: string;
  ports: PublishedPort[];
  endpointMode: 'vip' | 'dnsrr';
  virtualIps: { networkId: string; addr: string }[];
  networks: string[];
  constraints: string[];
  labels: Record<string, string>;
  /**
   * The spec's ContainerSpec.Healthcheck: `defined`, `disabled` (`Test: ["NONE"]`), or
   * `not-in-spec` (an image's own HEALTHCHECK is not visible in the service spec).
   * Absent when unknown (fakes).
   */
  healthcheck?: 'defined' | 'disabled' | 'not-in-spec';
  /** ContainerSpec.StopGracePeriod in ms (Docker's default, 10 s, when the spec has none). */
  stopGracePeriodMs?: number;
  /** TaskTemplate.Placement.MaxReplicas; absent when unlimited (0 or not set). */
  maxReplicasPerNode?: number;
}

export interface SwarmTask {
  id: string;
  serviceId: string;
  nodeId?: string;
  slot?: number;
  desiredState: string;
  state: string;
  error?: string;
  message?: string;
  timestamp: string;
  containerId?: string;
  addresses: string[];
  /** The task's addresses on the ingress network (what the routing mesh balances over). */
  ingressAddresses?: string[];
}

export interface SwarmNetwork {
  id: string;
  name: string;
  driver: string;
  scope: string;
  ingress: boolean;
  /** IPAM subnets (CIDR); absent when the engine did not say. */
  subnets?: string[];
  peers: { name: string; ip: string }[];
  /** Verbose inspect: per service, its VIP and task endpoints on this network. */
  services: Record<string, { vip: string; tasks: { name: string; endpointIp: string }[] }>;
}

export interface EngineInfo {
  nodeId: string;
  hostname: string;
  serverVersion: string;
  localNodeState: string;
  controlAvailable: boolean;
  error: string;
  managers: number;
  nodes: number;
  /** The swarm's default address pools (CIDR), as a manager reports them; absent elsewhere. */
  defaultAddrPool?: string[];
}

export interface SwarmEvent {
  type: string;
  action: string;
  id: string;
  attributes: Record<string, string>;
  time: number;
}

/** The Docker Engine API of one engine (a manager for cluster calls, any node for local ones). */
export interface SwarmApi {
  /** Human label of the endpoint, e.g. "node1 via ssh". */
  readonly endpoint: string;
  ping(): Promise<void>;
  info(): Promise<EngineInfo>;
  listNodes(): Promise<SwarmNode[]>;
  inspectNode(id: string): Promise<SwarmNode>;
  /** Update availability, passing the node's version index (optimistic concurrency). */
  setNodeAvailability(id: string, version: number, availability: SwarmNode['availability']): Promise<void>;
  listServices(): Promise<SwarmService[]>;
  listTasks(filter?: { service?: string; node?: string; desiredState?: string }): Promise<SwarmTask[]>;
  forceUpdateService(id: string): Promise<void>;
  /**
   * Set a replicated service's replica count, only if it is still `expected` (someone else may
   * have scaled it since): false, and nothing changed, when it is not.
   */
  scaleService(id: string, replicas: number, expected: number): Promise<boolean>;
  inspectNetwork(idOrName: string, verbose?: boolean): Promise<SwarmNetwork>;
  /** Networks of one driver (e.g. overlay), with their subnets; no peers or services. */
  listNetworks(driver: string): Promise<SwarmNetwork[]>;
  listContainers(): Promise<{ id: string; name: string; swarmTask: boolean }[]>;
  /** Swarm configs hold the cluster lock (see executor/lock.ts). */
  listConfigs(nameFilter: string): Promise<{ id: string; name: string; labels: Record<string, string> }[]>;
  createConfig(name: string, labels: Record<string, string>, data: string): Promise<string>;
  removeConfig(id: string): Promise<void>;
  /** Replace a config's labels (the only part of a config Swarm lets one change): renews the lock. */
  updateConfigLabels(id: string, labels: Record<string, string>): Promise<void>;
  /** Events since now until the signal aborts; the executor reacts to them instead of polling. */
  events(filters: Record<string, string[]>, signal: AbortSignal): AsyncIterable<SwarmEvent>;
  close(): Promise<void>;
}

/** Opens the Docker API of one node, or of the cluster through a manager. */
export interface SwarmApiFactory {
  forNode(node: string, shell: NodeShell | undefined): Promise<SwarmApi>;
}

/**
 * The cluster as the executor and the checks see it: a reachable manager's API and one shell
 * per node. `cluster.ts` implements it over ssh2 + dockerode; unit tests use a small fake.
 */
export interface ClusterPort {
  /** API of a reachable manager (fails over when the current one stops answering). */
  swarm(): Promise<SwarmApi>;
  /** A reachable manager other than `node`: used before draining or rebooting a manager. */
  swarmAvoiding(node: string): Promise<SwarmApi>;
  /** The node's shell, one reused connection per node; reconnects if it dropped. */
  shellOf(node: string): Promise<NodeShell>;
  /** Drop and re-open the node's connection (after a reboot). */
  reconnect(node: string): Promise<NodeShell>;
  /** The node's own engine, over its SSH connection's socket forward. */
  engineOf(node: string): Promise<SwarmApi>;
  close(): Promise<void>;
}

/**
 * How drydock reaches the cluster: the runbook's `connection` section after normalization.
 * Declared here (not taken from the runbook types) so the transport layer never looks up.
 */
export interface ClusterConnectionSettings {
  ssh: {
    user: string;
    port: number;
    identityFile?: string | undefined;
    agent: boolean;
    knownHosts: string;
    hostKeyPolicy: SshTarget['hostKeyPolicy'];
    sshConfig: boolean;
    /** Default sudo for run stages (the executor reads it; the transport does not). */
    sudo: boolean;
    connectTimeoutMs: number;
    hosts: Record<string, string>;
  };
  docker: {
    via: 'ssh' | 'tcp' | 'env';
    managers: string[];
    socket: string;
    host?: string | undefined;
    tls?:
      | { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; verify: boolean }
      | undefined;
  };
}
