import { ConnectionError } from '../errors.js';
import { createDockerApi, type DockerEndpoint, parseDockerHost } from './docker.js';
import { expandEndpointTemplate, isEndpointTemplate } from './docker-endpoint.js';
import { createSshShellFactory } from './ssh.js';
import type {
  ClusterConnectionSettings,
  ClusterPort,
  NodeShell,
  ShellFactory,
  SshTarget,
  SwarmApi,
  SwarmNode,
} from './types.js';

/** The port, plus where each node is reached over SSH. */
export interface ClusterConnection extends ClusterPort {
  sshTargetOf(node: string): SshTarget;
}

export type ClusterOptions = ClusterConnectionSettings & { dockerHost?: string };

export interface ClusterDeps {
  shells?: ShellFactory;
  /** Opens an engine API; tests may wrap it. */
  openApi?: (endpoint: DockerEndpoint, label: string) => SwarmApi;
  env?: NodeJS.ProcessEnv;
  /** Warnings about ~/.ssh/config (parts drydock ignores). */
  onWarning?: (message: string) => void;
}

export async function connectCluster(
  options: ClusterOptions,
  deps: ClusterDeps = {},
): Promise<ClusterConnection> {
  const cluster = new Cluster(options, deps);
  await cluster.swarm();
  return cluster;
}

class Cluster implements ClusterConnection {
  private readonly shells: ShellFactory;
  private readonly openApi: (endpoint: DockerEndpoint, label: string) => SwarmApi;
  private readonly nodeShells = new Map<string, Promise<NodeShell>>();
  private readonly engines = new Map<string, SwarmApi>();
  /** Node hostname -> SSH host, learned from the runbook and the swarm's node list. */
  private readonly addresses = new Map<string, string>();
  private managers: string[] = [];
  private current: { node: string | undefined; api: SwarmApi } | undefined;
  /** The API for a non-SSH endpoint (DOCKER_HOST / tcp): one manager, no failover. */
  private fixedApi: SwarmApi | undefined;

  constructor(
    private readonly options: ClusterOptions,
    deps: ClusterDeps,
  ) {
    this.shells =
      deps.shells ??
      createSshShellFactory({ env: deps.env, ...(deps.onWarning ? { onWarning: deps.onWarning } : {}) });
    this.openApi =
      deps.openApi ??
      ((endpoint, label) =>
        createDockerApi(endpoint, {
          label,
          // A seed manager is known by its address until the node list names it.
          node: () => {
            const known = endpoint.kind === 'ssh' ? endpoint.shell.node : label;
            return this.nodeNameOfAddress(known) ?? known;
          },
        }));
    for (const [node, host] of Object.entries(options.ssh.hosts)) this.addresses.set(node, host);
  }

  sshTargetOf(node: string): SshTarget {
    const ssh = this.options.ssh;
    return {
      node,
      host: ssh.hosts[node] ?? this.addresses.get(node) ?? node,
      port: ssh.port,
      user: ssh.user,
      ...(ssh.identityFile ? { identityFile: ssh.identityFile } : {}),
      agent: ssh.agent,
      knownHostsFile: ssh.knownHosts,
      hostKeyPolicy: ssh.hostKeyPolicy,
      useSshConfig: ssh.sshConfig,
      connectTimeoutMs: ssh.connectTimeoutMs,
    };
  }

  async shellOf(node: string): Promise<NodeShell> {
    const cached = this.nodeShells.get(node);
    if (cached) {
      const shell = await cached.catch(() => undefined);
      if (shell?.connected) return shell;
      if (shell && isReconnectable(shell)) {
        // APIs over the dead connection keep sockets that will never answer: drop them first.
        this.forgetApis(node);
        await shell.reconnect();
        return shell;
      }
    }
    return this.openShell(node);
  }

  /** Forget the Docker APIs that ride on `node`'s SSH connection. */
  private forgetApis(node: string): void {
    const engine = this.engines.get(node);
    this.engines.delete(node);
    void engine?.close().catch(() => undefined);
    if (this.current?.node === node) this.current = undefined;
  }

  async reconnect(node: string): Promise<NodeShell> {
    const cached = await this.nodeShells.get(node)?.catch(() => undefined);
    this.forgetApis(node);
    if (cached && isReconnectable(cached)) {
      await cached.reconnect();
      return cached;
    }
    await cached?.close();
    return this.openShell(node);
  }

  private openShell(node: string): Promise<NodeShell> {
    const opening = this.shells.connect(this.sshTargetOf(node));
    this.nodeShells.set(node, opening);
    opening.catch(() => {
      if (this.nodeShells.get(node) === opening) this.nodeShells.delete(node);
    });
    return opening;
  }

  async engineOf(node: string): Promise<SwarmApi> {
    const cached = this.engines.get(node);
    const template = this.endpointTemplate();
    if (template !== undefined) {
      if (cached) return cached;
      const url = expandEndpointTemplate(template, { name: node, addr: this.addresses.get(node) ?? node });
      const api = this.openApi(this.tcpEndpoint(url), url);
      this.engines.set(node, api);
      return api;
    }
    const shell = await this.shellOf(node);
    if (cached) return cached;
    const api = this.openApi(
      { kind: 'ssh', shell, socketPath: this.options.docker.socket },
      `${node} via ssh`,
    );
    this.engines.set(node, api);
    return api;
  }

  async swarm(): Promise<SwarmApi> {
    return this.pickManager(undefined);
  }

  async swarmAvoiding(node: string): Promise<SwarmApi> {
    return this.pickManager(node);
  }

  private async pickManager(avoid: string | undefined): Promise<SwarmApi> {
    if (this.useFixedEndpoint()) {
      const api = await this.fixedEndpointApi();
      if (avoid !== undefined) {
        const info = await api.info();
        if (info.hostname === avoid) {
          throw new ConnectionError(`the only Docker endpoint (${api.endpoint}) is ${avoid}`, {
            hint: 'use connection.docker.via: ssh with several managers so drydock can move off a manager it maintains',
          });
        }
      }
      return api;
    }
    const current = this.current;
    if (current && current.node !== avoid && (await answers(current.api))) return current.api;

    const failures: string[] = [];
    const candidates = await this.managerCandidates();
    for (const candidate of candidates) {
      if (candidate === avoid) continue;
      try {
        const api = await this.engineOf(candidate);
        const info = await api.info();
        // A manager that lost quorum answers info() but not cluster calls.
        if (!info.controlAvailable) {
          failures.push(`${candidate}: not a manager`);
          continue;
        }
        if (avoid !== undefined && info.hostname === avoid) continue;
        await this.learnNodes(api);
        const node = info.hostname || candidate;
        this.current = { node, api };
        return api;
      } catch (error) {
        failures.push(`${candidate}: ${(error as Error).message}`);
      }
    }
    throw new ConnectionError(
      `no reachable manager${avoid ? ` other than ${avoid}` : ''}: ${failures.join('; ') || 'no managers known'}`,
      {
        hint: 'set connection.docker.managers (or --manager) to managers drydock can reach over SSH',
      },
    );
  }

  /** Known managers first (from the last node list), then the seeds from the runbook. */
  private async managerCandidates(): Promise<string[]> {
    const seeds = this.options.docker.managers.map((seed) => this.nodeNameOfAddress(seed) ?? seed);
    return [...new Set([...this.managers, ...seeds])];
  }

  private nodeNameOfAddress(address: string): string | undefined {
    for (const [node, host] of this.addresses) if (host === address) return node;
    return undefined;
  }

  /** Record every node's address and the managers, so later calls can fail over to them. */
  private async learnNodes(api: SwarmApi): Promise<SwarmNode[]> {
    const nodes = await api.listNodes();
    for (const node of nodes) {
      if (!this.options.ssh.hosts[node.hostname] && node.address && node.address !== '0.0.0.0') {
        this.addresses.set(node.hostname, node.address);
      }
    }
    // Seeds were keyed by address until now; move their shells to the hostname.
    for (const node of nodes) {
      const byAddress = this.nodeShells.get(node.address);
      if (byAddress && node.address !== node.hostname && !this.nodeShells.has(node.hostname)) {
        this.nodeShells.set(node.hostname, byAddress);
        this.nodeShells.delete(node.address);
        const engine = this.engines.get(node.address);
        if (engine) {
          this.engines.set(node.hostname, engine);
          this.engines.delete(node.address);
        }
      }
    }
    this.managers = nodes.filter((n) => n.role === 'manager' && n.state === 'ready').map((n) => n.hostname);
    return nodes;
  }

  private useFixedEndpoint(): boolean {
    return (
      this.options.dockerHost !== undefined ||
      (this.options.docker.via === 'tcp' && this.endpointTemplate() === undefined)
    );
  }

  /** `tcp://${node.addr}:2375`: each manager's own engine over tcp, with failover like via: ssh. */
  private endpointTemplate(): string | undefined {
    const { via, host } = this.options.docker;
    if (this.options.dockerHost !== undefined || via !== 'tcp' || !host) return undefined;
    return isEndpointTemplate(host) ? host : undefined;
  }

  /** A tcp endpoint with the runbook's TLS files; `https://` or port 2376 alone means TLS too. */
  private tcpEndpoint(url: string): DockerEndpoint {
    const spec = parseDockerHost(url);
    if (spec.kind !== 'tcp') {
      throw new ConnectionError(`the Docker endpoint must be tcp:// for via: tcp, got ${url}`, {
        hint: 'set connection.docker.host: tcp://manager:2376 (or tcp://${node.addr}:2376)',
      });
    }
    const tls = this.options.docker.tls;
    return {
      kind: 'tcp',
      host: spec.host,
      port: spec.port,
      ...(spec.tls || tls ? { tls: { verify: true, ...tls } } : {}),
    };
  }

  private async fixedEndpointApi(): Promise<SwarmApi> {
    if (this.fixedApi) return this.fixedApi;
    const docker = this.options.docker;
    let api: SwarmApi;
    if (this.options.dockerHost) {
      const spec = parseDockerHost(this.options.dockerHost);
      if (spec.kind === 'ssh') {
        // ssh:// goes through drydock's SSH transport (known_hosts, config, agent), not docker-modem's.
        const node = spec.host;
        this.addresses.set(node, spec.host);
        const target = { ...this.sshTargetOf(node), ...(spec.user ? { user: spec.user } : {}) };
        if (spec.port) target.port = spec.port;
        const shell = await this.shells.connect(target);
        this.nodeShells.set(node, Promise.resolve(shell));
        api = this.openApi({ kind: 'ssh', shell, socketPath: spec.socketPath }, `${node} via ssh`);
      } else if (spec.kind === 'unix') {
        api = this.openApi({ kind: 'unix', socketPath: spec.socketPath }, `unix://${spec.socketPath}`);
      } else {
        api = this.openApi(this.tcpEndpoint(this.options.dockerHost), this.options.dockerHost);
      }
    } else {
      if (!docker.host) {
        throw new ConnectionError('connection.docker.via is tcp but connection.docker.host is not set', {
          hint: 'set connection.docker.host: tcp://manager:2376',
        });
      }
      api = this.openApi(this.tcpEndpoint(docker.host), docker.host);
    }
    await api.ping();
    await this.learnNodes(api);
    this.fixedApi = api;
    return api;
  }

  async close(): Promise<void> {
    const engines = [...this.engines.values()];
    this.engines.clear();
    await Promise.allSettled(engines.map((e) => e.close()));
    await this.fixedApi?.close();
    const shells = await Promise.allSettled([...this.nodeShells.values()]);
    this.nodeShells.clear();
    await Promise.allSettled(shells.flatMap((s) => (s.status === 'fulfilled' ? [s.value.close()] : [])));
  }
}

function isReconnectable(shell: NodeShell): shell is NodeShell & { reconnect(): Promise<void> } {
  return typeof shell.reconnect === 'function';
}

/** A cheap liveness probe with a short deadline, so failover does not wait for a long timeout. */
async function answers(api: SwarmApi): Promise<boolean> {
  try {
    await Promise.race([
      api.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('ping timeout')), 3000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}
