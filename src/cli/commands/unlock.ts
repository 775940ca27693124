import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { defaultJournalDir } from '../../executor/journal.js';
import { isLockExpired, readLock } from '../../executor/lock.js';
import { type RunProgress, replayJournalFile } from '../../executor/run-progress.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import { escapeControl } from '../../shared/escape-control.js';
import {
  applyConnectionFlags,
  type ConnectionFlags,
  connectionFromJournal,
  defaultConnection,
  describeClusterAddress,
} from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';
import { findLatestLockHolder } from './run-history.js';

export interface UnlockOptions extends ConnectionFlags {
  runbook?: string;
  /** Reach the cluster as this run did (its journal keeps the connection). */
  run?: string;
  journalDir?: string;
  yes?: boolean;
}

/** `drydock unlock`: show who holds the cluster lock and release it after confirmation. */
export async function unlockCommand(options: UnlockOptions, io: CliIo): Promise<number> {
  const { connection, dockerHost } = await chooseConnection(options, io);
  // The command line's flags win over what the run used.
  const flags: ConnectionFlags = { ...(dockerHost ? { dockerHost } : {}), ...definedFlags(options) };
  const cluster = await connectWith(
    connection,
    flags,
    io,
    {
      command: 'unlock',
      hint: 'or give --run RUN_ID (see `drydock runs`), or --runbook FILE with connection.docker.managers set',
    },
    options.runbook,
  );
  try {
    const swarm = await cluster.swarm();
    const lock = await readLock(swarm);
    if (!lock) {
      io.stdout('the cluster is not locked\n');
      return 0;
    }
    const stale = isLockExpired(lock, Date.now());
    // The labels are anyone's text: shown escaped.
    io.stdout(
      escapeControl(
        `locked by ${lock.owner}, run ${lock.runId}, since ${lock.acquiredAt}, expires ${lock.expiresAt}${stale ? ' (STALE)' : ''}${lock.note ? `\n  note: ${lock.note}` : ''}`,
      ) + '\n',
    );
    if (!options.yes) {
      if (!io.isTTY) throw new UsageError('refusing to unlock without confirmation', { hint: 'pass --yes' });
      const { confirmUnlock } = await import('../../prompts/operator-gate.js');
      if (!(await confirmUnlock(lock.owner, lock.runId))) {
        io.stdout('left locked\n');
        return 0;
      }
    }
    await swarm.removeConfig(lock.id);
    io.stdout(`released the lock of run ${lock.runId}\n`);
    return 0;
  } finally {
    await cluster.close();
  }
}

/**
 * Where the lock lives: the runbook's cluster, or the one a run used (`--run`, or by default
 * the newest run that kept the lock), so the operator needs no runbook after a stop.
 */
async function chooseConnection(options: UnlockOptions, io: CliIo): Promise<Reached> {
  if (options.runbook && !options.run)
    return { connection: (await parseRunbookFile(options.runbook)).connection };
  const named = Boolean(options.manager?.length || options.dockerHost);
  if (named && !options.run) return { connection: defaultConnection() };
  const dir = options.journalDir ?? defaultJournalDir(io.env);
  const run = options.run ? await replayJournalFile(dir, options.run) : await findLatestLockHolder(dir);
  if (!run) return { connection: defaultConnection() };
  io.stderr(
    escapeControl(
      `drydock: reaching the cluster as run ${run.header.runId} did: ${describeClusterAddress(run.header.cluster)}\n`,
    ),
  );
  return await connectionOfRun(run);
}

type Reached = { connection: Runbook['connection']; dockerHost?: string };

async function connectionOfRun(run: RunProgress): Promise<Reached> {
  const used = run.header.cluster;
  if (used)
    return {
      connection: connectionFromJournal(used),
      ...(used.dockerHost ? { dockerHost: used.dockerHost } : {}),
    };
  // Older journals: the runbook's connection plus the flags the run was given.
  const runbook = await parseRunbookFile(resolve(run.header.runbookFile));
  const { dockerHost, ...connection } = applyConnectionFlags(
    runbook.connection,
    run.header.connection as ConnectionFlags,
    process.env,
  );
  return { connection, ...(dockerHost ? { dockerHost } : {}) };
}

function definedFlags(options: ConnectionFlags): ConnectionFlags {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ConnectionFlags;
}
