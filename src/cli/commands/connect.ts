import { UsageError } from '../../errors.js';
import type { ClusterPort } from '../../executor/ports.js';
import type { Runbook } from '../../runbook/types.js';
import { applyConnectionFlags, assertTlsFilesReadable, type ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';

/**
 * Open the cluster (Docker API + per-node SSH) from connection settings and the CLI's
 * overrides. Something must name the cluster: a manager address or a Docker host.
 */
export async function connectWith(
  base: Runbook['connection'],
  flags: ConnectionFlags,
  io: CliIo,
  usage: { command: string; hint: string },
  runbookFile?: string,
): Promise<ClusterPort> {
  const connection = applyConnectionFlags(base, flags, io.env);
  assertTlsFilesReadable(connection.docker, flags, runbookFile);
  const tcpHost = connection.docker.via === 'tcp' && connection.docker.host !== undefined;
  if (!connection.dockerHost && !tcpHost && connection.docker.managers.length === 0) {
    throw new UsageError(`${usage.command} needs the cluster: give --manager HOST or --docker-host URL`, {
      hint: usage.hint,
    });
  }
  const { connectCluster } = await import('../../transport/cluster.js');
  return connectCluster(connection, {
    onWarning: (message) => io.stderr(`drydock: warning: ${message}\n`),
  });
}

/** The flags worth keeping in the journal so `resume` reconnects the same way (no secrets). */
export function connectionFlagsForJournal(flags: ConnectionFlags): Record<string, unknown> {
  const { dockerHost, manager, identity, knownHosts, sshUser, acceptNew, insecureIgnoreHostKeys } = flags;
  const { tlscacert, tlscert, tlskey } = flags;
  return Object.fromEntries(
    Object.entries({
      tlscacert,
      tlscert,
      tlskey,
      dockerHost,
      manager,
      identity,
      knownHosts,
      sshUser,
      acceptNew,
      insecureIgnoreHostKeys,
    }).filter(([, v]) => v !== undefined),
  );
}
