import { UsageError } from '../../errors.js';
import { isLockExpired, readLock } from '../../executor/lock.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import { escapeControl } from '../../shared/escape-control.js';
import { type ConnectionFlags, defaultConnection } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';

/** `drydock unlock`: show who holds the cluster lock and release it after confirmation. */
export async function unlockCommand(
  options: ConnectionFlags & { runbook?: string; yes?: boolean },
  io: CliIo,
): Promise<number> {
  const connection = options.runbook
    ? (await parseRunbookFile(options.runbook)).connection
    : defaultConnection();
  const cluster = await connectWith(
    connection,
    options,
    io,
    {
      command: 'unlock',
      hint: 'or give --runbook FILE with connection.docker.managers set',
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
        `locked by ${lock.owner}, run ${lock.runId}, since ${lock.acquiredAt}, expires ${lock.expiresAt}${stale ? ' (STALE)' : ''}`,
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
