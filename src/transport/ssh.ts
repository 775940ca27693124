import { readFile } from 'node:fs/promises';
import { homedir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import ssh2, {
  type AgentAuthMethod,
  type Client,
  type ClientChannel,
  type ConnectConfig,
  type PublicKeyAuthMethod,
  type ServerHostKeyAlgorithm,
} from 'ssh2';
import { ConnectionError, HostKeyError } from '../errors.js';
import { quoteShellArg } from '../shared/shell-quote.js';

// ssh2 is CommonJS: plain Node exposes only its default export to ESM (vitest hides this).
const { Client: SshClient, utils } = ssh2;

import {
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  formatKnownHostName,
  type KnownHostEntry,
  keyTypeOfBlob,
  knownKeyTypes,
  readKnownHosts,
} from './known-hosts.js';
import { PersistentSession, type SessionOutcome } from './session-shell.js';
import {
  expandHome,
  parseJumpHost,
  readSshConfig,
  resolveSshHost,
  type SshConfigBlock,
} from './ssh-config.js';
import type { CommandResult, ExecOptions, NodeShell, ShellFactory, SshTarget } from './types.js';

/** Injectable environment of the SSH adapter (tests pass their own home, env and clocks). */
export interface SshShellFactoryDeps {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Parsed ~/.ssh/config; read from `home` when absent. */
  readSshConfig?: () => Promise<SshConfigBlock[]>;
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

export { quoteShellArg };

/** Run a command under non-interactive sudo: fails instead of prompting for a password. */
export function wrapSudo(command: string): string {
  return `sudo -n -- sh -c ${quoteShellArg(command)}`;
}

const PID_MARKER = '\x1edrydock-pgid ';

/**
 * Prefix a command so the login shell reports its PID on stderr first. sshd makes that shell a
 * session leader, so the PID is also the process group to kill on timeout.
 */
export function announcePid(command: string): string {
  return `printf '\\036drydock-pgid %s\\n' "$$" >&2; ${command}`;
}

/** Strips the PID marker line from the start of stderr and reports the PID. */
export class PidMarkerReader {
  private pending: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly onPid: (pid: number) => void) {}

  push(chunk: Buffer): Buffer {
    if (this.pending === undefined) return chunk;
    const data = Buffer.concat([this.pending, chunk]);
    const marker = Buffer.from(PID_MARKER, 'latin1');
    const compared = Math.min(data.length, marker.length);
    if (!data.subarray(0, compared).equals(marker.subarray(0, compared))) {
      this.pending = undefined;
      return data;
    }
    const newline = data.indexOf(0x0a);
    if (newline < 0) {
      this.pending = data;
      return Buffer.alloc(0);
    }
    this.pending = undefined;
    const pid = Number(data.subarray(marker.length, newline).toString('latin1'));
    if (Number.isInteger(pid) && pid > 1) this.onPid(pid);
    return data.subarray(newline + 1);
  }
}

const SUDO_PASSWORD_PATTERN = /sudo: (a password is required|a terminal is required)/;

export function createSshShellFactory(deps: SshShellFactoryDeps = {}): SshShellFactory {
  const env = deps.env ?? process.env;
  const home = deps.home ?? homedir();
  const loadSshConfig = deps.readSshConfig ?? (() => readSshConfig(join(home, '.ssh', 'config'), home));
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

interface ShellSettings {
  env: NodeJS.ProcessEnv;
  home: string;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxOutputBytes: number;
  killGraceMs: number;
  maxConcurrentChannels: number;
  persistentSessions: boolean;
  maxPersistentSessions: number;
  now: () => number;
  loadSshConfig: () => Promise<SshConfigBlock[]>;
}

/** A hop to connect to: the node itself or a ProxyJump host. */
interface Hop {
  label: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
}

class SshShellImpl implements SshShell {
  readonly node: string;
  private client: Client | undefined;
  /** ProxyJump clients, closed with the shell. */
  private jumps: Client[] = [];
  private live = false;
  private inFlight = new Set<(lost: boolean) => void>();
  private waiting: (() => void)[] = [];
  private openChannels = 0;
  /** Persistent shells of the current connection (see session-shell.ts). */
  private sessions: PersistentSession[] = [];
  private sessionsStarting = 0;
  /** The node lacks base64 or setsid: plain channels only, until the next reconnect. */
  private sessionsUnsupported = false;

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
    const { final, jumps } = await this.resolveHops();
    const opened: Client[] = [];
    try {
      let sock: Duplex | undefined;
      for (const [index, hop] of jumps.entries()) {
        const next = jumps[index + 1] ?? final;
        const client = await this.openClient(hop, sock);
        opened.push(client);
        sock = await forwardTo(client, next, this.target);
      }
      const client = await this.openClient(final, sock);
      this.jumps = opened;
      this.client = client;
      this.live = true;
      const drop = () => this.markLost(client);
      client.on('close', drop);
      client.on('end', drop);
      client.on('error', drop);
    } catch (error) {
      for (const client of opened) client.end();
      throw error;
    }
  }

  async exec(command: string, options: ExecOptions = {}): Promise<CommandResult> {
    const display = options.display ?? command;
    const remote = announcePid(options.sudo ? wrapSudo(command) : command);
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
      return this.runOnSession(client, session, remote, { ...options, timeoutMs }, result);
    }
    if (!this.live || this.client !== client) return result({ connectionLost: true });

    await this.acquireChannel();
    try {
      return await this.runChannel(client, remote, options, result);
    } finally {
      this.releaseChannel();
    }
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

  /** Runs a command on a persistent shell: same result, streaming, timeout and kill as a channel. */
  private runOnSession(
    client: Client,
    session: PersistentSession,
    remote: string,
    options: ExecOptions,
    result: (partial: Partial<CommandResult>) => CommandResult,
  ): Promise<CommandResult> {
    const stdout = new CappedOutput(this.settings.maxOutputBytes);
    const stderr = new CappedOutput(this.settings.maxOutputBytes);
    const out = new StringDecoder('utf8');
    const errDecoder = new StringDecoder('utf8');
    return new Promise<CommandResult>((resolve) => {
      let timedOut = false;
      let aborted = false;
      let pgid: number | undefined;
      let stopping = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const graceTimers: NodeJS.Timeout[] = [];

      const finish = (lost: boolean, outcome?: SessionOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const t of graceTimers) clearTimeout(t);
        options.signal?.removeEventListener('abort', onAbort);
        this.inFlight.delete(finish);
        const connectionLost = lost || (outcome?.kind === 'died' && (!this.live || this.client !== client));
        let exitCode: number | null = null;
        let signal: string | null = null;
        if (outcome?.kind === 'exited' && !connectionLost) {
          signal = signalOfStatus(outcome.code);
          exitCode = signal ? null : outcome.code;
        } else if (outcome?.kind === 'died' && !connectionLost) {
          signal = outcome.signal;
          if (!stopping) {
            stderr.push(
              Buffer.from(`drydock: the persistent shell on ${this.node} ended while the command ran\n`),
            );
          }
        }
        if (aborted || timedOut) {
          exitCode = null;
          signal = 'TERM';
        }
        const err = stderr.text();
        resolve(
          result({
            exitCode,
            signal,
            stdout: stdout.text(),
            stderr:
              exitCode !== 0 && options.sudo && SUDO_PASSWORD_PATTERN.test(err)
                ? `${err}\ndrydock: sudo on ${this.node} wants a password; allow passwordless sudo (NOPASSWD) for ${this.target.user} or connect as root\n`
                : err,
            timedOut,
            connectionLost,
          }),
        );
      };
      const kill = (name: 'TERM' | 'KILL', pid: number) => {
        const command = `kill -${name} -- -${pid} 2>/dev/null`;
        this.runSideCommand(client, options.sudo ? `sudo -n ${command}` : command);
      };
      // Timeout and abort: TERM the command's process group, KILL it after the grace period, and
      // give up on the shell after a second one (or at once if its PID never arrived).
      const stop = () => {
        if (stopping) return;
        stopping = true;
        if (pgid !== undefined) kill('TERM', pgid);
        graceTimers.push(
          setTimeout(() => {
            if (pgid === undefined) {
              session.destroy();
              return;
            }
            kill('KILL', pgid);
            graceTimers.push(setTimeout(() => session.destroy(), this.settings.killGraceMs));
          }, this.settings.killGraceMs),
        );
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };
      const pidReader = new PidMarkerReader((pid) => {
        pgid = pid;
        if (stopping) kill('TERM', pid);
      });

      this.inFlight.add(finish);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs);
      }
      session
        .run(remote, {
          stdout: (chunk) => {
            stdout.push(chunk);
            options.onStdout?.(out.write(chunk));
          },
          stderr: (raw) => {
            const chunk = pidReader.push(raw);
            if (chunk.length === 0) return;
            stderr.push(chunk);
            options.onStderr?.(errDecoder.write(chunk));
          },
        })
        .then((outcome) => finish(false, outcome));
    });
  }

  private runChannel(
    client: Client,
    remote: string,
    options: ExecOptions,
    result: (partial: Partial<CommandResult>) => CommandResult,
  ): Promise<CommandResult> {
    const stdout = new CappedOutput(this.settings.maxOutputBytes);
    const stderr = new CappedOutput(this.settings.maxOutputBytes);
    return new Promise<CommandResult>((resolve) => {
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let timedOut = false;
      let aborted = false;
      let channel: ClientChannel | undefined;
      let timer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      let settled = false;

      const finish = (lost: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        this.inFlight.delete(finish);
        const err = stderr.text();
        resolve(
          result({
            exitCode: lost ? null : exitCode,
            signal: exitSignal ?? (aborted || timedOut ? 'TERM' : null),
            stdout: stdout.text(),
            stderr:
              exitCode !== 0 && options.sudo && SUDO_PASSWORD_PATTERN.test(err)
                ? `${err}\ndrydock: sudo on ${this.node} wants a password; allow passwordless sudo (NOPASSWD) for ${this.target.user} or connect as root\n`
                : err,
            timedOut,
            connectionLost: lost,
          }),
        );
      };
      let pgid: number | undefined;
      let stopping = false;
      // Timeout and abort: TERM the remote process group, then KILL and close after a grace period.
      // sshd ignores the `signal` channel request for root sessions ("session signalling requires
      // privilege separation"), so the group is also killed with kill(1) on a side channel.
      const stop = () => {
        if (!channel || stopping) return;
        stopping = true;
        const ch = channel;
        const sendSignal = (name: 'TERM' | 'KILL') => {
          ch.signal(name);
          if (pgid !== undefined) {
            const kill = `kill -${name} -- -${pgid} 2>/dev/null`;
            this.runSideCommand(client, options.sudo ? `sudo -n ${kill}` : kill);
          }
        };
        sendSignal('TERM');
        graceTimer = setTimeout(() => {
          sendSignal('KILL');
          ch.close();
        }, this.settings.killGraceMs);
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };
      this.inFlight.add(finish);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs);
      }

      try {
        client.exec(remote, (error, ch) => {
          if (error) {
            stderr.push(Buffer.from(`drydock: could not open a channel on ${this.node}: ${error.message}\n`));
            finish(!this.live);
            return;
          }
          channel = ch;
          if (aborted || timedOut) stop();
          const out = new StringDecoder('utf8');
          const errDecoder = new StringDecoder('utf8');
          const pidReader = new PidMarkerReader((pid) => {
            pgid = pid;
            // Stopped before the PID arrived: kill the group now.
            if (stopping) this.runSideCommand(client, `kill -TERM -- -${pid} 2>/dev/null`);
          });
          ch.on('data', (chunk: Buffer) => {
            stdout.push(chunk);
            options.onStdout?.(out.write(chunk));
          });
          ch.stderr.on('data', (raw: Buffer) => {
            const chunk = pidReader.push(raw);
            if (chunk.length === 0) return;
            stderr.push(chunk);
            options.onStderr?.(errDecoder.write(chunk));
          });
          ch.on('exit', (code: number | null, signalName?: string) => {
            if (typeof code === 'number') exitCode = code;
            if (signalName) exitSignal = signalName.replace(/^SIG/, '');
          });
          ch.on('close', () => finish(false));
        });
      } catch (error) {
        // ssh2 throws synchronously when the socket is already gone.
        stderr.push(Buffer.from(`drydock: ${(error as Error).message}\n`));
        finish(true);
      }
    });
  }

  /** Fire-and-forget helper command (kill on timeout); its result does not matter. */
  private runSideCommand(client: Client, command: string): void {
    try {
      client.exec(command, (error, ch) => {
        if (error) return;
        ch.resume();
        ch.stderr.resume();
      });
    } catch {
      // The connection is gone; the command dies with it.
    }
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
    for (const finish of [...this.inFlight]) finish(true);
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

  private async resolveHops(): Promise<{ final: Hop; jumps: Hop[] }> {
    const target = this.target;
    const blocks = target.useSshConfig ? await this.settings.loadSshConfig() : [];
    const resolveHop = (host: string, user?: string, port?: number, identityFile?: string): Hop => {
      const config = resolveSshHost(blocks, host, this.settings.home);
      return {
        label: host,
        host: config.hostName ?? host,
        // ssh config is per host and so more specific than the runbook's cluster-wide defaults.
        port: port ?? config.port ?? target.port,
        user: user ?? config.user ?? target.user,
        identityFiles: [
          ...(identityFile ? [expandHome(identityFile, this.settings.home)] : []),
          ...config.identityFiles,
        ],
      };
    };
    const final = resolveHop(target.host, undefined, undefined, target.identityFile);
    const jumpSpec = resolveSshHost(blocks, target.host, this.settings.home).proxyJump ?? [];
    const jumps = jumpSpec.map((spec) => {
      const hop = parseJumpHost(spec);
      const resolved = resolveHop(hop.host, hop.user, hop.port, target.identityFile);
      // A jump host without its own Port setting uses 22, as ssh does.
      const config = resolveSshHost(blocks, hop.host, this.settings.home);
      return { ...resolved, port: hop.port ?? config.port ?? 22 };
    });
    return { final, jumps };
  }

  private async openClient(hop: Hop, sock: Duplex | undefined): Promise<Client> {
    const target = this.target;
    const knownHostsFile = expandHome(target.knownHostsFile, this.settings.home);
    const known = target.hostKeyPolicy === 'insecure-ignore' ? [] : await readKnownHosts(knownHostsFile);
    const auth = await this.buildAuth(hop);
    const client = new SshClient();
    let hostKeyError: HostKeyError | undefined;
    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.user,
      sock: sock as ConnectConfig['sock'],
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: this.settings.keepaliveIntervalMs,
      keepaliveCountMax: this.settings.keepaliveCountMax,
      authHandler: auth,
      algorithms: { serverHostKey: preferKnownKeyTypes(knownKeyTypes(known, hop.host, hop.port)) },
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        verifyHostKey({ known, knownHostsFile, hop, key, policy: target.hostKeyPolicy }).then(
          () => verify(true),
          (error: HostKeyError) => {
            hostKeyError = error;
            verify(false);
          },
        );
      },
    };
    return new Promise<Client>((resolve, reject) => {
      const onError = (error: Error & { level?: string }) => {
        client.removeListener('ready', onReady);
        client.end();
        if (hostKeyError) {
          reject(hostKeyError);
          return;
        }
        const where = `${hop.user}@${hop.host}:${hop.port}`;
        if (error.level === 'client-authentication') {
          reject(
            new ConnectionError(`SSH authentication to ${where} failed for ${target.node}`, {
              cause: error,
              hint:
                auth.length === 0
                  ? 'no identity file and no ssh-agent: set connection.ssh.identityFile or SSH_AUTH_SOCK'
                  : 'check connection.ssh.user and that the key is in authorized_keys on the node',
            }),
          );
          return;
        }
        const timedOut = /Timed out/i.test(error.message);
        reject(
          new ConnectionError(`could not connect to ${target.node} over SSH (${where}): ${error.message}`, {
            cause: error,
            hint: timedOut
              ? `no SSH handshake within ${target.connectTimeoutMs}ms; is the node up and port ${hop.port} open?`
              : 'check the address, port and that sshd is running on the node',
          }),
        );
      };
      const onReady = () => {
        client.removeListener('error', onError);
        // Short requests and replies: Nagle plus delayed ACKs would add ~40ms per round trip.
        client.setNoDelay(true);
        resolve(client);
      };
      client.once('ready', onReady);
      client.once('error', onError);
      // Later errors (after ready, or a second one after a failed handshake) surface as a dropped
      // connection; this listener keeps an unhandled 'error' from crashing the process.
      client.on('error', () => {});
      try {
        client.connect(config);
      } catch (error) {
        onError(error as Error);
      }
    });
  }

  /** Agent first (as ssh does), then each identity file; default keys when nothing is configured. */
  private async buildAuth(hop: Hop): Promise<(AgentAuthMethod | PublicKeyAuthMethod)[]> {
    const methods: (AgentAuthMethod | PublicKeyAuthMethod)[] = [];
    const agentSocket = this.settings.env.SSH_AUTH_SOCK;
    if (this.target.agent && agentSocket)
      methods.push({ type: 'agent' as const, username: hop.user, agent: agentSocket });
    let files = hop.identityFiles;
    const explicit = files.length > 0;
    if (!explicit && methods.length === 0) {
      files = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(this.settings.home, '.ssh', name));
    }
    for (const file of files) {
      let raw: Buffer;
      try {
        raw = await readFile(file);
      } catch (error) {
        if (!explicit) continue;
        throw new ConnectionError(`cannot read identity file ${file} for ${this.target.node}`, {
          cause: error,
          hint: 'check connection.ssh.identityFile (or IdentityFile in ~/.ssh/config)',
        });
      }
      const parsed = utils.parseKey(raw);
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase/i.test(parsed.message);
        throw new ConnectionError(`cannot use identity file ${file}: ${parsed.message}`, {
          cause: parsed,
          hint: encrypted
            ? 'drydock does not prompt for passphrases: load the key into ssh-agent (ssh-add) instead'
            : 'the file must be an OpenSSH or PEM private key',
        });
      }
      methods.push({ type: 'publickey' as const, username: hop.user, key: raw });
    }
    return methods;
  }
}

/** Verify a presented host key against known_hosts under the target's policy. */
async function verifyHostKey(input: {
  known: KnownHostEntry[];
  knownHostsFile: string;
  hop: Hop;
  key: Buffer;
  policy: SshTarget['hostKeyPolicy'];
}): Promise<void> {
  const { known, knownHostsFile, hop, key, policy } = input;
  if (policy === 'insecure-ignore') return;
  const name = formatKnownHostName(hop.host, hop.port);
  const check = checkHostKey(known, hop.host, hop.port, key);
  switch (check.status) {
    case 'match':
      return;
    case 'revoked':
      throw new HostKeyError(
        `host key ${fingerprintOf(key)} of ${name} is marked @revoked in ${knownHostsFile}:${check.entry.line}`,
        { hint: 'the node presents a revoked key; replace its host key before connecting' },
      );
    case 'changed': {
      const lines = check.entries
        .map((e) => `${knownHostsFile}:${e.line} (${e.keyType} ${fingerprintOf(e.key)})`)
        .join(', ');
      throw new HostKeyError(
        `host key for ${name} has CHANGED: it presents ${keyTypeOfBlob(key)} ${fingerprintOf(key)}, known_hosts has ${lines}`,
        {
          hint: `this may be an attack. If the node was reinstalled, remove the old key with ssh-keygen -R ${quoteShellArg(name)} -f ${knownHostsFile} and verify the new fingerprint out of band`,
        },
      );
    }
    case 'unknown':
      if (policy === 'accept-new') {
        await appendKnownHost(knownHostsFile, hop.host, hop.port, key);
        return;
      }
      throw new HostKeyError(`host key for ${name} is not in ${knownHostsFile}`, {
        hint: `add it with ssh-keyscan -p ${hop.port} ${hop.host} >> ${knownHostsFile} (check its fingerprint ${fingerprintOf(key)}) or re-run with --accept-new`,
      });
  }
}

/** The host key algorithms ssh2 offers, reordered so the server shows a key known_hosts can verify. */
export function preferKnownKeyTypes(knownTypes: string[]): ServerHostKeyAlgorithm[] {
  const all: ServerHostKeyAlgorithm[] = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ];
  const algorithmsOf = (type: string) =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
  const preferred = knownTypes
    .flatMap(algorithmsOf)
    .filter((a): a is ServerHostKeyAlgorithm => (all as string[]).includes(a));
  return [...new Set([...preferred, ...all])];
}

function forwardTo(client: Client, next: Hop, target: SshTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, next.host, next.port, (error, stream) => {
      if (error) {
        reject(
          new ConnectionError(
            `ProxyJump to ${next.host}:${next.port} for ${target.node} failed: ${error.message}`,
            {
              cause: error,
              hint: 'the jump host must allow TCP forwarding (AllowTcpForwarding yes)',
            },
          ),
        );
        return;
      }
      resolve(stream);
    });
  });
}

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

const SIGNAL_NAMES = new Map(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name.replace(/^SIG/, '')]),
);

/** The shell reports a child killed by signal n as status 128+n; name that signal. */
function signalOfStatus(status: number): string | null {
  return status > 128 ? (SIGNAL_NAMES.get(status - 128) ?? null) : null;
}

/** Keeps the last `max` bytes of a stream; older output is dropped, never the tail. */
class CappedOutput {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.max;
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    // A cut may land inside a multi-byte character; drop the broken lead.
    return this.dropped ? text.replace(/^\uFFFD+/, '') : text;
  }
}
