import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2, { type AgentAuthMethod, type Client, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { ConnectionError, type HostKeyError } from '../errors.js';
import { knownKeyTypes, readKnownHosts } from './known-hosts.js';
import { expandHome, parseJumpHost, resolveSshHost, type SshConfigBlock } from './ssh-config.js';
import { preferKnownKeyTypes, verifyHostKey } from './ssh-host-keys.js';
import type { SshTarget } from './types.js';

/**
 * Opening an SSH connection: ~/.ssh/config and ProxyJump hops, authentication (agent, identity
 * files) and the host key check, with errors that say what to fix.
 */

// ssh2 is CommonJS: plain Node exposes only its default export to ESM (vitest hides this).
const { Client: SshClient, utils } = ssh2;

export interface ConnectSettings {
  env: NodeJS.ProcessEnv;
  home: string;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  loadSshConfig: () => Promise<SshConfigBlock[]>;
}

/** A hop to connect to: the node itself or a ProxyJump host. */
interface Hop {
  label: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  hashKnownHosts: boolean;
}

/** Connect to the target, through its ProxyJump hosts if any; the caller closes the jump clients. */
export async function connectSsh(
  target: SshTarget,
  settings: ConnectSettings,
): Promise<{ client: Client; jumps: Client[] }> {
  const { final, jumps } = await resolveHops(target, settings);
  const opened: Client[] = [];
  try {
    let sock: Duplex | undefined;
    for (const [index, hop] of jumps.entries()) {
      const next = jumps[index + 1] ?? final;
      const client = await openClient(target, settings, hop, sock);
      opened.push(client);
      sock = await forwardTo(client, next, target);
    }
    const client = await openClient(target, settings, final, sock);
    return { client, jumps: opened };
  } catch (error) {
    for (const client of opened) client.end();
    throw error;
  }
}

/** End a client and wait until its socket closed: at most 2 s, then the socket is destroyed. */
export function endClient(
  client: Pick<Client, 'once' | 'end' | 'destroy'>,
  graceMs = END_GRACE_MS,
): Promise<void> {
  return new Promise((resolve) => {
    // A peer that drops every packet never acknowledges the goodbye: its socket would stay open
    // (the kernel retransmits for many minutes) and keep drydock alive after the run has ended.
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, graceMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

const END_GRACE_MS = 2000;

async function resolveHops(
  target: SshTarget,
  settings: ConnectSettings,
): Promise<{ final: Hop; jumps: Hop[] }> {
  const blocks = target.useSshConfig ? await settings.loadSshConfig() : [];
  const resolveHop = (host: string, user?: string, port?: number, identityFile?: string): Hop => {
    const config = resolveSshHost(blocks, host, settings.home, { user: user ?? target.user });
    return {
      label: host,
      host: config.hostName ?? host,
      // ssh config is per host and so more specific than the runbook's cluster-wide defaults.
      port: port ?? config.port ?? target.port,
      user: user ?? config.user ?? target.user,
      identityFiles: [
        ...(identityFile ? [expandHome(identityFile, settings.home)] : []),
        ...config.identityFiles,
      ],
      hashKnownHosts: config.hashKnownHosts ?? false,
    };
  };
  const final = resolveHop(target.host, undefined, undefined, target.identityFile);
  const jumpSpec = resolveSshHost(blocks, target.host, settings.home).proxyJump ?? [];
  const jumps = jumpSpec.map((spec) => {
    const hop = parseJumpHost(spec);
    const resolved = resolveHop(hop.host, hop.user, hop.port, target.identityFile);
    // A jump host without its own Port setting uses 22, as ssh does.
    const config = resolveSshHost(blocks, hop.host, settings.home);
    return { ...resolved, port: hop.port ?? config.port ?? 22 };
  });
  return { final, jumps };
}

async function openClient(
  target: SshTarget,
  settings: ConnectSettings,
  hop: Hop,
  sock: Duplex | undefined,
): Promise<Client> {
  const knownHostsFile = expandHome(target.knownHostsFile, settings.home);
  const known = target.hostKeyPolicy === 'insecure-ignore' ? [] : await readKnownHosts(knownHostsFile);
  const auth = await buildAuth(target, settings, hop);
  const client = new SshClient();
  let hostKeyError: HostKeyError | undefined;
  const config: ConnectConfig = {
    host: hop.host,
    port: hop.port,
    username: hop.user,
    sock: sock as ConnectConfig['sock'],
    readyTimeout: target.connectTimeoutMs,
    keepaliveInterval: settings.keepaliveIntervalMs,
    keepaliveCountMax: settings.keepaliveCountMax,
    authHandler: auth,
    algorithms: { serverHostKey: preferKnownKeyTypes(knownKeyTypes(known, hop.host, hop.port)) },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      verifyHostKey({
        known,
        knownHostsFile,
        host: hop.host,
        port: hop.port,
        key,
        policy: target.hostKeyPolicy,
        hashKnownHosts: hop.hashKnownHosts,
      }).then(
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
async function buildAuth(
  target: SshTarget,
  settings: ConnectSettings,
  hop: Hop,
): Promise<(AgentAuthMethod | PublicKeyAuthMethod)[]> {
  const methods: (AgentAuthMethod | PublicKeyAuthMethod)[] = [];
  const agentSocket = settings.env.SSH_AUTH_SOCK;
  if (target.agent && agentSocket)
    methods.push({ type: 'agent' as const, username: hop.user, agent: agentSocket });
  let files = hop.identityFiles;
  const explicit = files.length > 0;
  if (!explicit && methods.length === 0) {
    files = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(settings.home, '.ssh', name));
  }
  for (const file of files) {
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch (error) {
      if (!explicit) continue;
      throw new ConnectionError(`cannot read identity file ${file} for ${target.node}`, {
        cause: error,
        hint: 'check connection.ssh.identityFile (or IdentityFile in ~/.ssh/config)',
      });
    }
    const unprotected = await describeUnprotectedKey(file);
    if (unprotected) {
      // OpenSSH skips a default key that is too open, and refuses one that was asked for.
      if (!explicit) continue;
      throw new ConnectionError(unprotected, {
        hint: `only you may read a private key: chmod 600 ${file}`,
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

/**
 * OpenSSH's "UNPROTECTED PRIVATE KEY FILE" rule: a key readable by group or others is refused,
 * because anyone who could read it could log in as us. Undefined when the key is protected.
 */
export async function describeUnprotectedKey(file: string): Promise<string | undefined> {
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `UNPROTECTED PRIVATE KEY FILE: permissions 0${mode.toString(8)} for ${file} are too open (readable by group or others), so it is refused as OpenSSH would`;
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
