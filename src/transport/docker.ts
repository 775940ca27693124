import { Agent, type AgentOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import { CancelledError, ConnectionError, EngineNotAnsweringError } from '../errors.js';
import { timeLeft, waitSignal } from '../shared/deadline.js';
import { explainTlsFailure, readTlsFile } from './docker-endpoint.js';
import { type Json, mapEvent, mapInfo, mapNetwork, mapNode, mapService, mapTask } from './docker-mapping.js';
import type {
  EngineInfo,
  NodeShell,
  SwarmApi,
  SwarmEvent,
  SwarmNetwork,
  SwarmNode,
  SwarmService,
  SwarmTask,
} from './types.js';

/** Where one Engine API lives. */
export type DockerEndpoint =
  /** The node's unix socket forwarded over its existing SSH connection (streamlocal). */
  | { kind: 'ssh'; shell: NodeShell; socketPath: string }
  | { kind: 'unix'; socketPath: string }
  | {
      kind: 'tcp';
      host: string;
      port: number;
      tls?: { ca?: string; cert?: string; key?: string; verify: boolean };
    };

/** A parsed DOCKER_HOST / --docker-host value. `ssh://` is served by drydock's own SSH transport. */
export type DockerHostSpec =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'ssh'; user?: string; host: string; port?: number; socketPath: string };

export interface DockerApiOptions {
  /** Label for messages, e.g. "node1 via ssh". */
  label?: string;
  /** Per-request timeout for non-streaming calls (default 30s); a shorter waiting deadline wins. */
  requestTimeoutMs?: number;
  /**
   * The node whose engine this is, named when it does not answer (default: from the endpoint).
   * A function when the name is learned later (a seed manager known by address at first).
   */
  node?: string | (() => string);
}

/** Parse `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host:22`. */
export function parseDockerHost(raw: string, env: NodeJS.ProcessEnv = process.env): DockerHostSpec {
  const value = raw.includes('://') ? raw : `tcp://${raw}`;
  if (value.startsWith('unix://'))
    return { kind: 'unix', socketPath: value.slice(7) || '/var/run/docker.sock' };
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new ConnectionError(`cannot parse docker host ${raw}`, {
      cause: error,
      hint: 'use unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host',
    });
  }
  if (url.protocol === 'ssh:') {
    return {
      kind: 'ssh',
      user: url.username ? decodeURIComponent(url.username) : undefined,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : undefined,
      socketPath: url.pathname && url.pathname !== '/' ? url.pathname : '/var/run/docker.sock',
    };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
    return { kind: 'tcp', host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)), tls };
  }
  throw new ConnectionError(`unsupported docker host ${raw}`, {
    hint: 'use unix://, tcp:// or ssh://',
  });
}

/**
 * An http.Agent whose connections are streamlocal channels on the node's SSH connection: every
 * Engine API request rides the one SSH session drydock already holds (no `docker system
 * dial-stdio`, no second login). docker-modem passes `agent` through to http.request.
 */
export class SshSocketAgent extends Agent {
  constructor(
    private readonly shell: NodeShell,
    private readonly socketPath: string,
    options: AgentOptions = {},
  ) {
    // Long-lived event streams each hold a socket; a small cap would queue every other request
    // behind them. Forwarded channels are not sessions, so sshd's MaxSessions does not apply.
    super({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 8, ...options });
  }

  /**
   * docker-modem util.inspect()s every request's options, agent included, even with debug off;
   * through the agent that walks the whole ssh2 client and costs hundreds of ms per call.
   */
  [inspect.custom](): string {
    return `SshSocketAgent(${this.shell.node})`;
  }

  override createConnection(
    _options: unknown,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): undefined {
    const open = this.shell.openSocket;
    if (!open) {
      callback(new ConnectionError(`the shell of ${this.shell.node} cannot forward sockets`));
      return undefined;
    }
    open.call(this.shell, this.socketPath).then((stream) => {
      // http's ClientRequest may call these socket-only methods; a channel has none of them.
      const socketLike = stream as Duplex & Partial<Socket>;
      socketLike.setTimeout ??= (() => socketLike) as Socket['setTimeout'];
      socketLike.setNoDelay ??= (() => socketLike) as Socket['setNoDelay'];
      socketLike.setKeepAlive ??= (() => socketLike) as Socket['setKeepAlive'];
      // A kept-alive socket is parked with ref()/unref(); a channel lives on the SSH socket.
      socketLike.ref ??= (() => socketLike) as Socket['ref'];
      socketLike.unref ??= (() => socketLike) as Socket['unref'];
      callback(null, stream);
    }, callback);
    return undefined;
  }
}

export function createDockerApi(endpoint: DockerEndpoint, options: DockerApiOptions = {}): SwarmApi {
  const label = options.label ?? describeEndpoint(endpoint);
  let agent: SshSocketAgent | undefined;
  let docker: Docker;
  switch (endpoint.kind) {
    case 'ssh':
      agent = new SshSocketAgent(endpoint.shell, endpoint.socketPath);
      // `host` keeps docker-modem from falling back to DOCKER_HOST or the local socket.
      docker = new Docker({
        host: 'docker.invalid',
        port: 80,
        protocol: 'http',
        agent,
      } as Docker.DockerOptions);
      break;
    case 'unix':
      docker = new Docker({ socketPath: endpoint.socketPath });
      break;
    case 'tcp': {
      const tls = endpoint.tls;
      const read = (file: string | undefined, field: string) => (file ? readTlsFile(file, field) : undefined);
      docker = new Docker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: tls ? 'https' : 'http',
        ...(tls
          ? {
              ca: read(tls.ca, 'ca'),
              cert: read(tls.cert, 'cert'),
              key: read(tls.key, 'key'),
              ...(tls.verify ? {} : { checkServerIdentity: () => undefined }),
            }
          : {}),
      });
      break;
    }
  }
  const named = options.node ?? (endpoint.kind === 'ssh' ? endpoint.shell.node : label);
  const node = typeof named === 'function' ? named : () => named;
  return new DockerSwarmApi(docker, label, node, options.requestTimeoutMs ?? 30_000, agent);
}

/** A request may always have this long, even when the wait around it is nearly over. */
const MIN_REQUEST_MS = 1000;

/**
 * Cluster calls are served only by a manager, so a silent one is "manager X's engine"; engine
 * calls ask the node's own engine.
 */
type CallScope = 'cluster' | 'engine';

function describeEndpoint(endpoint: DockerEndpoint): string {
  switch (endpoint.kind) {
    case 'ssh':
      return `${endpoint.shell.node} via ssh`;
    case 'unix':
      return `unix://${endpoint.socketPath}`;
    case 'tcp':
      return `${endpoint.tls ? 'tcp+tls' : 'tcp'}://${endpoint.host}:${endpoint.port}`;
  }
}

interface ApiError extends Error {
  statusCode?: number;
  json?: { message?: string };
}

class DockerSwarmApi implements SwarmApi {
  constructor(
    private readonly docker: Docker,
    readonly endpoint: string,
    private readonly node: () => string,
    private readonly timeoutMs: number,
    private readonly agent: Agent | undefined,
  ) {}

  /**
   * Every call goes through here: the deadline of whatever waits on it (or the request timeout,
   * if sooner), and one error type naming the endpoint. The race is the backstop for a request
   * whose socket never opens (an SSH channel on a dead link), which the signal alone may not end.
   */
  private async call<T>(
    what: string,
    scope: CallScope,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const left = timeLeft();
    const budgetMs = Math.min(
      this.timeoutMs,
      left === undefined ? this.timeoutMs : Math.max(left, MIN_REQUEST_MS),
    );
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), budgetMs);
    // A cancelled wait (the operator's second Ctrl-C) ends its request at once.
    const cancel = waitSignal();
    const onCancel = () => controller.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    if (cancel?.aborted) controller.abort();
    const started = Date.now();
    const expired = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error('deadline passed')), { once: true });
    });
    expired.catch(() => undefined);
    try {
      return await Promise.race([run(controller.signal), expired]);
    } catch (error) {
      if (cancel?.aborted)
        throw new CancelledError(`${what} on ${this.endpoint}: cancelled`, { cause: error });
      if (controller.signal.aborted) {
        const who = scope === 'cluster' ? `manager ${this.node()}` : this.node();
        throw new EngineNotAnsweringError(who, `${what} on ${this.endpoint}`, Date.now() - started, {
          cause: error,
          hint: 'the engine took the request and never answered: is dockerd hung (stopped, overloaded) or the link dropping packets?',
        });
      }
      throw toConnectionError(error, `${what} on ${this.endpoint}`);
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      controller.abort();
    }
  }

  async ping(): Promise<void> {
    await this.call('ping', 'engine', (abortSignal) =>
      callWithOptions(this.docker, this.docker.ping, { abortSignal }),
    );
  }

  async info(): Promise<EngineInfo> {
    const raw = await this.call('info', 'engine', (abortSignal) =>
      callWithOptions(this.docker, this.docker.info, { abortSignal }),
    );
    return mapInfo(raw);
  }

  async listNodes(): Promise<SwarmNode[]> {
    const raw = await this.call('list nodes', 'cluster', (abortSignal) =>
      this.docker.listNodes({ abortSignal }),
    );
    return raw.map(mapNode);
  }

  async inspectNode(id: string): Promise<SwarmNode> {
    return mapNode(
      await this.call(`inspect node ${id}`, 'cluster', (abortSignal) =>
        this.docker.getNode(id).inspect({ abortSignal }),
      ),
    );
  }

  async setNodeAvailability(
    id: string,
    version: number,
    availability: SwarmNode['availability'],
  ): Promise<void> {
    const node = this.docker.getNode(id);
    const current = await this.call(`inspect node ${id}`, 'cluster', (abortSignal) =>
      node.inspect({ abortSignal }),
    );
    // Keep the whole spec (role, labels, name) and change only availability; the version makes
    // the engine reject the update if anyone changed the node since it was read.
    const spec = { ...(current.Spec ?? {}), Availability: availability };
    await this.call(`update node ${id}`, 'cluster', (abortSignal) =>
      node.update({ _query: { version }, _body: spec, abortSignal }),
    );
  }

  async listServices(): Promise<SwarmService[]> {
    const raw = await this.call('list services', 'cluster', (abortSignal) =>
      this.docker.listServices({ status: true, abortSignal } as Docker.ServiceListOptions),
    );
    return raw.map(mapService);
  }

  async listTasks(
    filter: { service?: string; node?: string; desiredState?: string } = {},
  ): Promise<SwarmTask[]> {
    const filters: Record<string, string[]> = {};
    if (filter.service) filters.service = [filter.service];
    if (filter.node) filters.node = [filter.node];
    if (filter.desiredState) filters['desired-state'] = [filter.desiredState];
    const raw = await this.call('list tasks', 'cluster', (abortSignal) =>
      this.docker.listTasks({ filters: JSON.stringify(filters), abortSignal }),
    );
    return raw.map(mapTask);
  }

  async forceUpdateService(id: string): Promise<void> {
    const service = this.docker.getService(id);
    const current = await this.call(`inspect service ${id}`, 'cluster', (abortSignal) =>
      service.inspect({ abortSignal }),
    );
    const spec = current.Spec ?? {};
    const template = spec.TaskTemplate ?? {};
    // What `docker service update --force` does: bump ForceUpdate, keep everything else.
    const body = { ...spec, TaskTemplate: { ...template, ForceUpdate: (template.ForceUpdate ?? 0) + 1 } };
    await this.call(`update service ${id}`, 'cluster', (abortSignal) =>
      service.update({ _query: { version: current.Version?.Index }, _body: body, abortSignal }),
    );
  }

  async scaleService(id: string, replicas: number, expected: number): Promise<boolean> {
    const service = this.docker.getService(id);
    const current = await this.call(`inspect service ${id}`, 'cluster', (abortSignal) =>
      service.inspect({ abortSignal }),
    );
    const spec = current.Spec ?? {};
    if (spec.Mode?.Replicated?.Replicas !== expected) return false;
    // The service's version index makes a concurrent edit fail instead of being overwritten.
    const body = { ...spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.call(`scale service ${spec.Name ?? id} to ${replicas}`, 'cluster', (abortSignal) =>
      service.update({ _query: { version: current.Version?.Index }, _body: body, abortSignal }),
    );
    return true;
  }

  async inspectNetwork(idOrName: string, verbose = true): Promise<SwarmNetwork> {
    const raw = await this.call(`inspect network ${idOrName}`, 'engine', (abortSignal) => {
      const network = this.docker.getNetwork(idOrName);
      return callWithOptions(network, network.inspect, { verbose, abortSignal });
    });
    return mapNetwork(raw);
  }

  async listNetworks(driver: string): Promise<SwarmNetwork[]> {
    const raw = await this.call('list networks', 'cluster', (abortSignal) =>
      this.docker.listNetworks({ filters: JSON.stringify({ driver: [driver] }), abortSignal }),
    );
    return raw.map(mapNetwork);
  }

  async listContainers(): Promise<{ id: string; name: string; swarmTask: boolean }[]> {
    const raw = await this.call('list containers', 'engine', (abortSignal) =>
      this.docker.listContainers({ abortSignal }),
    );
    return raw.map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      swarmTask: Boolean(c.Labels?.['com.docker.swarm.task.id']),
    }));
  }

  async listConfigs(
    nameFilter: string,
  ): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const raw = await this.call('list configs', 'cluster', (abortSignal) =>
      this.docker.listConfigs({ filters: JSON.stringify({ name: [nameFilter] }), abortSignal }),
    );
    return raw.map((c) => ({ id: c.ID, name: c.Spec?.Name ?? '', labels: c.Spec?.Labels ?? {} }));
  }

  async createConfig(name: string, labels: Record<string, string>, data: string): Promise<string> {
    const created = (await this.call(`create config ${name}`, 'cluster', (abortSignal) =>
      this.docker.createConfig({
        Name: name,
        Labels: labels,
        Data: Buffer.from(data).toString('base64'),
        abortSignal,
      }),
    )) as unknown as { id?: string; ID?: string };
    return created.id ?? created.ID ?? '';
  }

  async updateConfigLabels(id: string, labels: Record<string, string>): Promise<void> {
    const config = this.docker.getConfig(id);
    const current = (await this.call(`inspect config ${id}`, 'cluster', (abortSignal) =>
      config.inspect({ abortSignal }),
    )) as { Version?: { Index?: number }; Spec?: Record<string, unknown> };
    // The version makes the engine refuse the update if the config changed since it was read.
    await this.call(`update config ${id}`, 'cluster', (abortSignal) =>
      config.update({
        _query: { version: current.Version?.Index ?? 0 },
        _body: { ...(current.Spec ?? {}), Labels: labels },
        abortSignal,
      }),
    );
  }

  async removeConfig(id: string): Promise<void> {
    await this.call(`remove config ${id}`, 'cluster', (abortSignal) =>
      this.docker.getConfig(id).remove({ abortSignal }),
    );
  }

  events(filters: Record<string, string[]>, signal: AbortSignal): AsyncIterable<SwarmEvent> {
    const docker = this.docker;
    const endpoint = this.endpoint;
    return {
      async *[Symbol.asyncIterator]() {
        if (signal.aborted) return;
        let stream: NodeJS.ReadableStream;
        try {
          stream = (await docker.getEvents({
            filters: JSON.stringify(filters),
            abortSignal: signal,
          })) as NodeJS.ReadableStream;
        } catch (error) {
          if (signal.aborted) return;
          throw toConnectionError(error, `events on ${endpoint}`);
        }
        const destroy = () => (stream as unknown as { destroy?: () => void }).destroy?.();
        // Aborted while the request was in flight: the 'abort' event has already fired, so a
        // listener added now would never run and the stream (an SSH channel) would stay open.
        if (signal.aborted) {
          destroy();
          return;
        }
        signal.addEventListener('abort', destroy, { once: true });
        let buffered = '';
        try {
          for await (const chunk of stream) {
            buffered += chunk.toString();
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (line) yield mapEvent(JSON.parse(line));
              newline = buffered.indexOf('\n');
            }
          }
        } catch (error) {
          if (!signal.aborted) throw toConnectionError(error, `events on ${endpoint}`);
        } finally {
          signal.removeEventListener('abort', destroy);
          destroy();
        }
      },
    };
  }

  async close(): Promise<void> {
    this.agent?.destroy();
  }
}

/** dockerode accepts options (abortSignal, verbose) on calls its typings declare without them. */
function callWithOptions(self: object, method: unknown, options: object): Promise<Json> {
  return (method as (this: object, options: object) => Promise<Json>).call(self, options);
}

function toConnectionError(error: unknown, what: string): ConnectionError {
  const apiError = error as ApiError;
  const detail = apiError.json?.message ?? apiError.message ?? String(error);
  const tlsHint = explainTlsFailure(error);
  if (tlsHint)
    return new ConnectionError(`${what} failed: ${detail.trim()}`, { cause: error, hint: tlsHint });
  const status = apiError.statusCode ? ` (HTTP ${apiError.statusCode})` : '';
  return new ConnectionError(`${what} failed${status}: ${detail.trim()}`, {
    cause: error,
    hint:
      apiError.statusCode === 503
        ? 'the engine is not a manager of a healthy swarm (no quorum, or not a manager)'
        : apiError.statusCode === undefined
          ? 'could not reach the Docker API; check the endpoint and that dockerd is running'
          : undefined,
  });
}
