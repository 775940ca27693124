import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { ConnectionUsed } from '../executor/journal-read.js';
import { parseRunbookText } from '../runbook/parse.js';
import type { Runbook } from '../runbook/types.js';

/** Connection flags shared by plan, run, resume, check and unlock. */
export interface ConnectionFlags {
  dockerHost?: string;
  manager?: string[];
  identity?: string;
  knownHosts?: string;
  sshUser?: string;
  acceptNew?: boolean;
  insecureIgnoreHostKeys?: boolean;
  /** TLS files for a tcp Docker endpoint, as docker's own --tlscacert/--tlscert/--tlskey. */
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** The runbook's connection settings with the command line's overrides applied. */
export function applyConnectionFlags(
  connection: Runbook['connection'],
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
): Runbook['connection'] & { dockerHost?: string } {
  if (flags.acceptNew && flags.insecureIgnoreHostKeys) {
    throw new UsageError('--accept-new and --insecure-ignore-host-keys cannot be combined');
  }
  const ssh = {
    ...connection.ssh,
    ...(flags.identity ? { identityFile: flags.identity } : {}),
    ...(flags.knownHosts ? { knownHosts: flags.knownHosts } : {}),
    ...(flags.sshUser ? { user: flags.sshUser } : {}),
    ...(flags.acceptNew ? { hostKeyPolicy: 'accept-new' as const } : {}),
    ...(flags.insecureIgnoreHostKeys ? { hostKeyPolicy: 'insecure-ignore' as const } : {}),
  };
  const tlsFlags = {
    ...(flags.tlscacert ? { ca: flags.tlscacert } : {}),
    ...(flags.tlscert ? { cert: flags.tlscert } : {}),
    ...(flags.tlskey ? { key: flags.tlskey } : {}),
  };
  const docker = {
    ...connection.docker,
    ...(flags.manager?.length ? { managers: flags.manager, via: 'ssh' as const } : {}),
    ...(Object.keys(tlsFlags).length > 0
      ? { tls: { verify: connection.docker.tls?.verify ?? true, ...connection.docker.tls, ...tlsFlags } }
      : {}),
  };
  // DOCKER_HOST is used when asked for (via: env) or when nothing else names a manager.
  const fromEnv = docker.via === 'env' || (docker.via === 'ssh' && docker.managers.length === 0);
  const dockerHost = flags.dockerHost ?? (fromEnv ? env.DOCKER_HOST : undefined);
  if (docker.via === 'env' && !dockerHost) {
    throw new UsageError('connection.docker.via is env but DOCKER_HOST is not set', {
      hint: 'export DOCKER_HOST, or pass --docker-host or --manager',
    });
  }
  return { ssh, docker, ...(dockerHost ? { dockerHost } : {}) };
}

/** Connection settings when no runbook gives them: the schema's own defaults (flags override). */
export function defaultConnection(): Runbook['connection'] {
  return parseRunbookText(
    'version: 1\nname: defaults\nstages: [{ kind: pause, duration: 1s }]\n',
    '<defaults>',
  ).connection;
}

/** What the journal keeps of a run's connection (no secrets: addresses and paths). */
export function describeConnectionUsed(
  connection: Runbook['connection'] & { dockerHost?: string },
): ConnectionUsed {
  const { ssh, docker } = connection;
  return {
    via: docker.via,
    managers: docker.managers,
    ...(connection.dockerHost ? { dockerHost: connection.dockerHost } : {}),
    ...(docker.host ? { host: docker.host } : {}),
    sshUser: ssh.user,
    sshPort: ssh.port,
    ...(ssh.identityFile ? { identityFile: ssh.identityFile } : {}),
    knownHosts: ssh.knownHosts,
    hostKeyPolicy: ssh.hostKeyPolicy,
    sshConfig: ssh.sshConfig,
  };
}

/** Connection settings rebuilt from a journal, so `unlock --run` reaches the cluster that run used. */
export function connectionFromJournal(used: ConnectionUsed): Runbook['connection'] {
  const base = defaultConnection();
  return {
    ssh: {
      ...base.ssh,
      user: used.sshUser,
      port: used.sshPort,
      knownHosts: used.knownHosts,
      hostKeyPolicy: used.hostKeyPolicy,
      sshConfig: used.sshConfig,
      ...(used.identityFile ? { identityFile: used.identityFile } : {}),
    },
    docker: {
      ...base.docker,
      via: used.via,
      managers: used.managers,
      ...(used.host ? { host: used.host } : {}),
    },
  };
}

/** One line for people: "manager 10.0.0.11 (ssh root@)", or the Docker host. */
export function describeClusterAddress(used: ConnectionUsed | undefined): string {
  if (!used) return 'unknown (journal from an older drydock)';
  if (used.dockerHost) return used.dockerHost;
  if (used.via === 'tcp' && used.host) return used.host;
  return used.managers.length
    ? `manager ${used.managers.join(', ')} (ssh ${used.sshUser}@, port ${used.sshPort})`
    : 'DOCKER_HOST';
}

const TLS_FLAGS = { ca: '--tlscacert', cert: '--tlscert', key: '--tlskey' } as const;

/**
 * Every TLS file must be readable before drydock touches the cluster: a missing CA is the
 * operator's to fix (exit 2), named by field and file, never a stack trace mid-connect.
 */
export function assertTlsFilesReadable(
  docker: Runbook['connection']['docker'],
  flags: ConnectionFlags,
  runbookFile: string | undefined,
  home = homedir(),
): void {
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = docker.tls?.[field];
    if (path === undefined) continue;
    const flag = TLS_FLAGS[field];
    const fromFlag = flags[flag.slice(2) as keyof ConnectionFlags] !== undefined;
    const source = fromFlag
      ? flag
      : `connection.docker.tls.${field}${runbookFile ? ` in ${runbookFile}` : ''}`;
    const full = path === '~' || path.startsWith('~/') ? join(home, path.slice(2)) : path;
    try {
      accessSync(full, constants.R_OK);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not readable';
      throw new UsageError(`cannot read the TLS ${field} file ${full} (${source}): ${reason}`, {
        cause: error,
        hint: fromFlag
          ? `give an existing file to ${flag}`
          : `fix connection.docker.tls.${field} (a relative path is read from the runbook's folder) or pass ${flag} FILE`,
      });
    }
  }
}

/** One line naming the Docker API endpoint drydock will use, for validate and plan. */
export function describeDockerEndpoint(connection: Runbook['connection'] & { dockerHost?: string }): string {
  const { docker } = connection;
  const tls = docker.tls
    ? ` with TLS${docker.tls.verify ? '' : ' (server not verified)'}${
        docker.tls.ca ? `, CA ${docker.tls.ca}` : ''
      }${docker.tls.cert ? `, client cert ${docker.tls.cert}` : ''}`
    : '';
  if (connection.dockerHost) return `${connection.dockerHost}${tls} (--docker-host or DOCKER_HOST)`;
  switch (docker.via) {
    case 'tcp': {
      const seeds = docker.managers.length > 0 ? ` on managers ${docker.managers.join(', ')}` : '';
      return `${docker.host ?? '(no host)'}${tls}${seeds} (connection.docker.host)`;
    }
    case 'ssh':
      return docker.managers.length > 0
        ? `${docker.socket} over SSH on managers ${docker.managers.join(', ')}`
        : `${docker.socket} over SSH (managers from --manager)`;
    case 'env':
      return 'DOCKER_HOST';
  }
}
