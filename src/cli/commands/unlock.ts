import { UsageError } from '../../errors.js';
import { isLockExpired, readLock } from '../../executor/lock.js';
import { parseRunbookFile, parseRunbookText } from '../../runbook/parse.js';
import type { ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectForRunbook } from './connect.js';

/** `drydock unlock`: show who holds the cluster lock and release it after confirmation. */
export async function unlockCommand(
  options: ConnectionFlags & { runbook?: string; yes?: boolean },
  io: CliIo,
): Promise<number> {
  const runbook = options.runbook ? await parseRunbookFile(options.runbook) : defaultConnectionRunbook();
  const cluster = await connectForRunbook(runbook, options, io);
  try {
    const swarm = await cluster.swarm();
    const lock = await readLock(swarm);
    if (!lock) {
      io.stdout('the cluster is not locked\n');
      return 0;
    }
    const stale = isLockExpired(lock, Date.now());
    io.stdout(
      `locked by ${lock.owner}, run ${lock.runId}, since ${lock.acquiredAt}, expires ${lock.expiresAt}${stale ? ' (STALE)' : ''}\n`,
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

/** Without --runbook: the schema's default connection settings (flags override them). */
function defaultConnectionRunbook() {
  return parseRunbookText('version: 1\nname: unlock\nstages: [{ kind: pause, duration: 0 }]\n', '<defaults>');
}
