import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { defaultJournalDir } from '../../executor/journal.js';
import { isLockExpired, type LockInfo, readLock } from '../../executor/lock.js';
import { readPreviousRun } from '../../executor/run-summary.js';
import { planRollout } from '../../plan/plan-rollout.js';
import type { ClusterFacts, Plan } from '../../plan/types.js';
import { renderPlanMarkdown } from '../../report/plan-markdown.js';
import { renderPlanText } from '../../report/plan-text.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import { escapeControl } from '../../shared/escape-control.js';
import { applyConnectionFlags, type ConnectionFlags, describeDockerEndpoint } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';
import { describeRun, findDrainingRun } from './run-history.js';

export interface PlanOptions extends ConnectionFlags {
  inventory?: string;
  format?: 'text' | 'json' | 'markdown';
  /** Show what `run --continue-from RUN_ID` would skip. */
  continueFrom?: string;
  /** Ask the nodes now whether their stages' (read-only) skipIf conditions hold. */
  evaluateSkips?: boolean;
  journalDir?: string;
}

/** `drydock plan`: the dry-run preview. Reads facts (offline or read-only), changes nothing. */
export async function planCommand(runbookPath: string, options: PlanOptions, io: CliIo): Promise<number> {
  const runbook = await parseRunbookFile(runbookPath);
  const previous = options.continueFrom
    ? await readPreviousRun(options.journalDir ?? defaultJournalDir(io.env), options.continueFrom)
    : undefined;
  let lock: LockInfo | undefined;
  const facts = await loadClusterFacts(runbook, options, io, (found) => {
    lock = found;
  });
  const plan = planRollout(runbook, facts, {
    now: Date.now(),
    ...(previous ? { continueFrom: { previous, runbookFile: resolve(runbook.file) } } : {}),
  });
  if (!options.inventory)
    await explainEarlierRuns(plan, lock, options.journalDir ?? defaultJournalDir(io.env));
  if (options.evaluateSkips) await evaluateSkips(plan, runbook, options, io);
  const format = options.format ?? 'text';
  if (format === 'json') io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else if (format === 'markdown') io.stdout(renderPlanMarkdown(plan));
  else io.stdout(renderPlanText(plan));
  return 0;
}

async function evaluateSkips(plan: Plan, runbook: Runbook, options: PlanOptions, io: CliIo): Promise<void> {
  if (options.inventory) {
    throw new UsageError('--evaluate-skips asks the nodes: it needs the cluster, not --inventory');
  }
  const { annotatePlannedSkips } = await import('./plan-skips.js');
  const cluster = await connectWith(
    runbook.connection,
    options,
    io,
    { command: 'plan', hint: 'or plan without --evaluate-skips' },
    runbook.file,
  );
  try {
    await annotatePlannedSkips(plan, runbook, cluster);
  } finally {
    await cluster.close();
  }
}

/** Facts from --inventory, or from the live cluster through read-only API calls. */
export async function loadClusterFacts(
  runbook: Runbook,
  options: PlanOptions,
  io: CliIo,
  onLock?: (lock: LockInfo | undefined) => void,
): Promise<ClusterFacts> {
  if (options.inventory) {
    if (options.dockerHost || options.manager?.length) {
      throw new UsageError('--inventory cannot be combined with --docker-host or --manager');
    }
    const { parseInventoryFile } = await import('../../plan/inventory.js');
    return parseInventoryFile(options.inventory);
  }
  const { readClusterFacts } = await import('../../executor/read-cluster-facts.js');
  // stderr, so the plan on stdout stays the same whatever the endpoint.
  const connection = applyConnectionFlags(runbook.connection, options, io.env);
  io.stderr(`drydock: Docker API: ${describeDockerEndpoint(connection)}\n`);
  const cluster = await connectWith(
    runbook.connection,
    options,
    io,
    {
      command: 'plan',
      hint: 'or plan offline: --inventory FILE (e.g. fixtures/inventory/example.yaml)',
    },
    runbook.file,
  );
  try {
    const swarm = await cluster.swarm();
    if (onLock) onLock(await readLock(swarm));
    return await readClusterFacts(swarm);
  } finally {
    await cluster.close();
  }
}

/**
 * After a stopped run the plan sees drained nodes and a held lock: name the run that drained
 * each node (from the journals) and who holds the lock, so nobody has to guess.
 */
async function explainEarlierRuns(plan: Plan, lock: LockInfo | undefined, journalDir: string): Promise<void> {
  if (lock) {
    const stale = isLockExpired(lock, Date.now()) ? ', STALE' : '';
    plan.warnings.push(
      escapeControl(
        `the cluster is locked by ${lock.owner} (run ${lock.runId}, since ${lock.acquiredAt}${stale})` +
          `${lock.note ? `: ${lock.note}` : ''}; \`drydock run\` will refuse until it is resumed or released`,
      ),
    );
  }
  for (const node of plan.nodes) {
    if (node.availabilityBefore !== 'drain') continue;
    const run = await findDrainingRun(journalDir, node.name);
    if (run) {
      node.notes.push(
        `drained by ${describeRun(run)}: continue it with \`drydock resume ${run.header.runId}\` (which re-activates it)`,
      );
    } else if (lock) {
      node.notes.push(`no journal in ${journalDir} drained it; the lock holder's run ${lock.runId} may have`);
    }
  }
}
