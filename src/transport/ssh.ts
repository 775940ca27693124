import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { ConnectionError } from '../errors.js';
import { createSessionRun, PersistentSession } from './session-shell.js';
import { createChannelRun, formatGroupKill, runSideCommand } from './ssh-channel.js';
import { readSshConfig, type SshConfigBlock } from './ssh-config.js';
import { type ConnectSettings, connectSsh, endClient } from './ssh-connect.js';
import { announcePid, type RemoteRun, runRemote, wrapSudo } from './ssh-exec.js';
import type { CommandResult, ExecOptions, NodeShell, ShellFactory, SshTarget } from './types.js';

/**
 * The SSH NodeShell: one ssh2 connection per node, reused for every command (on a small pool of
 * persistent shells, or plain exec channels) and socket forward. Connecting lives in
 * ssh-connect.ts, the exec path in ssh-exec.ts.
 */

/** Injectable environment of the SSH adapter (tests pass their own home, env and clocks). */
export interface SshShellFactoryDeps {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Parsed ~/.ssh/config; read from `home` when absent. */
  readSshConfig?: () => Promise<SshConfigBlock[]>;
  /** What drydock ignores in ~/.ssh/config (Match criteria, ProxyCommand …); each said once. */
  onWarning?: (message: string) => void;
  /** How often to probe an idle connection, so a dead node is noticed (default 5s). */
  keepaliveIntervalMs?: number;
  /** Unanswered probes before the connection counts as lost (default 3). */
  keepaliveCountMax?: number;
  /** stdout and stderr keep their last this many bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** After TERM on timeout/abort, wait this long before KILL and closing the channel (default 2s). */
  killGraceMs?: number;
  /** Channels open at once on one connection; OpenSSH's MaxSessions defaults to 10 (default 8). */
  maxConcurrentChannels?: number;
  /**
   * Run commands on persistent remote shells (one long-lived channel each) instead of a new
   * channel per command, which costs sshd 0.4–1s. Falls back to plain channels on nodes without
   * base64 or setsid (default true).
   */
  persistentSessions?: boolean;
  /** Persistent shells per connection; busier moments use plain channels (default 4). */
  maxPersistentSessions?: number;
  now?: () => number;
}

/** The SSH NodeShell: one ssh2 connection, reused for every command and socket forward. */
export interface SshShell extends NodeShell {
  readonly target: SshTarget;
  openSocket(path: string): Promise<Duplex>;
  /** Drop the connection (if any) and connect again, e.g. after a reboot. */
  reconnect(): Promise<void>;
}

export interface SshShellFactory extends ShellFactory {
  connect(target: SshTarget): Promise<SshShell>;
}

const MiB = 1024 * 1024;

/** Longest wait for one leftover's kill on a reconnect. */
const REAP_LIMIT_MS = 10_000;

export function createSshShellFactory(deps: SshShellFactoryDeps = {}): SshShellFactory {
  const env = deps.env ?? process.env;
  const home = deps.home ?? homedir();
  const said = new Set<string>();
  const warnOnce = (message: string) => {
    if (said.has(message)) return;
    said.add(message);
    deps.onWarning?.(message);
  };
  const loadSshConfig =
    deps.readSshConfig ?? (() => readSshConfig(join(home, '.ssh', 'config'), home, warnOnce));
  const settings: ShellSettings = {
    env,
    home,
    keepaliveIntervalMs: deps.keepaliveIntervalMs ?? 5000,
    keepaliveCountMax: deps.keepaliveCountMax ?? 3,
    maxOutputBytes: deps.maxOutputBytes ?? MiB,
    killGraceMs: deps.killGraceMs ?? 2000,
    maxConcurrentChannels: deps.maxConcurrentChannels ?? 8,
    persistentSessions: deps.persistentSessions ?? true,
    // Leave at least one channel for plain commands and the kill helper.
    maxPersistentSessions: Math.min(
      deps.maxPersistentSessions ?? 4,
      Math.max(0, (deps.maxConcurrentChannels ?? 8) - 1),
    ),
    now: deps.now ?? (() => performance.now()),
    loadSshConfig,
  };
  return {
    async connect(target) {
      const shell = new SshShellImpl(target, settings);
      await shell.reconnect();
      return shell;
    },
  };
}

interface ShellSettings extends ConnectSettings {
  maxOutputBytes: number;
  killGraceMs: number;
  maxConcurrentChannels: number;
  persistentSessions: boolean;
  maxPersistentSessions: number;
  now: () => number;
}

class SshShellImpl implements SshShell {
  readonly node: string;
  private client: Client | undefined;
  /** ProxyJump clients, closed with the shell. */
  private jumps: Client[] = [];
  private live = false;
  /** Finishers of the commands in flight, told when the connection drops. */
  private inFlight = new Set<() => void>();
  private waiting: (() => void)[] = [];
  private openChannels = 0;
  /** Persistent shells of the current connection (see session-shell.ts). */
  private sessions: PersistentSession[] = [];
  private sessionsStarting = 0;
  /** The node lacks base64 or setsid: plain channels only, until the next reconnect. */
  private sessionsUnsupported = false;
  /** Process groups of timed-out commands whose kill never got through: reaped when possible. */
  private leftovers: { pgid: number; sudo: boolean }[] = [];

  constructor(
    readonly target: SshTarget,
    private readonly settings: ShellSettings,
  ) {
    this.node = target.node;
  }

  get connected(): boolean {
    return this.live;
  }

  async reconnect(): Promise<void> {
    await this.close();
    const { client, jumps } = await connectSsh(this.target, this.settings);
    this.jumps = jumps;
    this.client = client;
    this.live = true;
    const drop = () => this.markLost(client);
    client.on('close', drop);
    client.on('end', drop);
    client.on('error', drop);
    await this.reapLeftovers(client);
  }

  /**
   * Kill what timed-out commands left running when their kill could not get through (a frozen
   * sshd). Only a group whose leader is still one of drydock's command shells (its command line
   * carries the PID marker or the sh wrapper), so a reused PID is never hit.
   */
  private async reapLeftovers(client: Client): Promise<void> {
    const leftovers = this.leftovers.splice(0);
    for (const { pgid, sudo } of leftovers) {
      const script =
        `grep -qa -e drydock-pgid -e 'dd bs=1 count=' /proc/${pgid}/cmdline 2>/dev/null && ` +
        formatGroupKill('KILL', pgid, sudo);
      // Bounded: a node that hangs again must not hold the reconnect.
      await Promise.race([
        runSideCommand(client, script),
        new Promise((resolve) => setTimeout(resolve, REAP_LIMIT_MS).unref()),
      ]);
    }
  }

  async exec(command: string, options: ExecOptions = {}): Promise<CommandResult> {
    const display = options.display ?? command;
    const script = announcePid(options.sudo ? wrapSudo(command) : command);
    const sudo = options.sudo ?? false;
    const started = this.settings.now();
    const result = (partial: Partial<CommandResult>): CommandResult => ({
      node: this.node,
      command: display,
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      durationMs: Math.round(this.settings.now() - started),
      timedOut: false,
      connectionLost: false,
      ...partial,
    });
    if (options.signal?.aborted) return result({ signal: 'TERM' });
    if (!this.live || !this.client) return result({ connectionLost: true });

    const client = this.client;
    if (this.leftovers.length > 0) await this.reapLeftovers(client);
    const isConnected = () => this.live && this.client === client;
    const session = await this.takeSession(client);
    if (session) {
      if (options.signal?.aborted) {
        session.state = 'idle';
        return result({ signal: 'TERM' });
      }
      // Session start-up counts against the timeout, as opening a channel does.
      const elapsed = this.settings.now() - started;
      const timeoutMs =
        options.timeoutMs === undefined ? undefined : Math.max(0, options.timeoutMs - elapsed);
      const run = createSessionRun({ client, session, script, sudo, isConnected });
      return this.run(run, { ...options, timeoutMs }, result, sudo);
    }
    if (!isConnected()) return result({ connectionLost: true });

    await this.acquireChannel();
    try {
      return await this.run(
        createChannelRun({ client, node: this.node, script, sudo, isConnected }),
        options,
        result,
        sudo,
      );
    } finally {
      this.releaseChannel();
    }
  }

  private run(
    run: RemoteRun,
    options: ExecOptions,
    result: (partial: Partial<CommandResult>) => CommandResult,
    sudo: boolean,
  ): Promise<CommandResult> {
    return runRemote(
      run,
      options,
      {
        node: this.node,
        user: this.target.user,
        maxOutputBytes: this.settings.maxOutputBytes,
        killGraceMs: this.settings.killGraceMs,
        inFlight: this.inFlight,
        onLeftover: (pgid) => this.leftovers.push({ pgid, sudo }),
      },
      result,
    );
  }

  /**
   * An idle persistent shell marked busy, a new one while the pool has room, or undefined when
   * the caller should use a plain channel (pool busy, unsupported node, or start-up failed).
   */
  private async takeSession(client: Client): Promise<PersistentSession | undefined> {
    if (!this.settings.persistentSessions || this.sessionsUnsupported) return undefined;
    const idle = this.sessions.find((s) => s.state === 'idle');
    if (idle) {
      idle.state = 'busy';
      return idle;
    }
    if (this.sessions.length + this.sessionsStarting >= this.settings.maxPersistentSessions) return undefined;
    this.sessionsStarting++;
    let session: PersistentSession | 'unsupported' | 'failed' = 'failed';
    try {
      await this.acquireChannel();
      // The session holds its channel slot for as long as its channel is open.
      session = await PersistentSession.open(client, Math.max(this.target.connectTimeoutMs, 10_000), () => {
        this.sessions = this.sessions.filter((s) => s !== session);
        this.releaseChannel();
      });
    } finally {
      this.sessionsStarting--;
    }
    if (session === 'unsupported') this.sessionsUnsupported = true;
    if (typeof session === 'string' || client !== this.client) return undefined;
    this.sessions.push(session);
    session.state = 'busy';
    return session;
  }

  async openSocket(path: string): Promise<Duplex> {
    const client = this.client;
    if (!this.live || !client) {
      throw new ConnectionError(`SSH connection to ${this.node} is closed`, {
        hint: 'reconnect the node before opening a socket',
      });
    }
    return new Promise<Duplex>((resolve, reject) => {
      try {
        client.openssh_forwardOutStreamLocal(path, (error, stream) => {
          if (error) {
            reject(
              new ConnectionError(`could not forward ${path} on ${this.node}: ${error.message}`, {
                cause: error,
                hint: 'the socket must exist and sshd must allow it (AllowStreamLocalForwarding yes, the default)',
              }),
            );
            return;
          }
          resolve(stream);
        });
      } catch (error) {
        reject(new ConnectionError(`SSH connection to ${this.node} is closed`, { cause: error }));
      }
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    const jumps = this.jumps;
    this.client = undefined;
    this.jumps = [];
    if (client) {
      this.markLost(client);
      await endClient(client);
    }
    for (const jump of jumps.reverse()) await endClient(jump);
  }

  private markLost(client: Client): void {
    if (client !== this.client && this.client !== undefined) return;
    this.live = false;
    // Their channels die with the connection; a reconnect starts new ones.
    this.sessions = [];
    this.sessionsUnsupported = false;
    for (const loseRun of [...this.inFlight]) loseRun();
  }

  private async acquireChannel(): Promise<void> {
    if (this.openChannels < this.settings.maxConcurrentChannels) {
      this.openChannels++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private releaseChannel(): void {
    const next = this.waiting.shift();
    // Hand the slot straight to the next waiter, so the count stays right.
    if (next) next();
    else this.openChannels--;
  }
}
