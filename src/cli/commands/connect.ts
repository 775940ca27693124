import type { ClusterPort } from '../../executor/ports.js';
import type { Runbook } from '../../runbook/types.js';
import { applyConnectionFlags, type ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';

/** Open the cluster (Docker API + per-node SSH) with the runbook's settings and the CLI's overrides. */
export async function connectForRunbook(
  runbook: Runbook,
  flags: ConnectionFlags,
  io: CliIo,
): Promise<ClusterPort> {
  return connectWith(runbook.connection, flags, io);
}

/** The same from bare connection settings (no runbook: `unlock`, `check`). */
export async function connectWith(
  base: Runbook['connection'],
  flags: ConnectionFlags,
  io: CliIo,
): Promise<ClusterPort> {
  const connection = applyConnectionFlags(base, flags, io.env);
  const { connectCluster } = await import('../../transport/cluster.js');
  return connectCluster(connection);
}

/** The flags worth keeping in the journal so `resume` reconnects the same way (no secrets). */
export function connectionFlagsForJournal(flags: ConnectionFlags): Record<string, unknown> {
  const { dockerHost, manager, identity, knownHosts, sshUser, acceptNew, insecureIgnoreHostKeys } = flags;
  return Object.fromEntries(
    Object.entries({
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
