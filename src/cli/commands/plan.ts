import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { defaultJournalDir } from '../../executor/journal.js';
import { readPreviousRun } from '../../executor/run-summary.js';
import { planRollout } from '../../plan/plan-rollout.js';
import type { ClusterFacts } from '../../plan/types.js';
import { renderPlanMarkdown } from '../../report/plan-markdown.js';
import { renderPlanText } from '../../report/plan-text.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import type { ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';

export interface PlanOptions extends ConnectionFlags {
  inventory?: string;
  format?: 'text' | 'json' | 'markdown';
  /** Show what `run --continue-from RUN_ID` would skip. */
  continueFrom?: string;
  journalDir?: string;
}

/** `drydock plan`: the dry-run preview. Reads facts (offline or read-only), changes nothing. */
export async function planCommand(runbookPath: string, options: PlanOptions, io: CliIo): Promise<number> {
  const runbook = await parseRunbookFile(runbookPath);
  const previous = options.continueFrom
    ? await readPreviousRun(options.journalDir ?? defaultJournalDir(io.env), options.continueFrom)
    : undefined;
  const facts = await loadClusterFacts(runbook, options, io);
  const plan = planRollout(runbook, facts, {
    now: Date.now(),
    ...(previous ? { continueFrom: { previous, runbookFile: resolve(runbook.file) } } : {}),
  });
  const format = options.format ?? 'text';
  if (format === 'json') io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  else if (format === 'markdown') io.stdout(renderPlanMarkdown(plan));
  else io.stdout(renderPlanText(plan));
  return 0;
}

/** Facts from --inventory, or from the live cluster through read-only API calls. */
export async function loadClusterFacts(
  runbook: Runbook,
  options: PlanOptions,
  io: CliIo,
): Promise<ClusterFacts> {
  if (options.inventory) {
    if (options.dockerHost || options.manager?.length) {
      throw new UsageError('--inventory cannot be combined with --docker-host or --manager');
    }
    const { parseInventoryFile } = await import('../../plan/inventory.js');
    return parseInventoryFile(options.inventory);
  }
  const { readClusterFacts } = await import('../../executor/read-cluster-facts.js');
  const cluster = await connectWith(runbook.connection, options, io, {
    command: 'plan',
    hint: 'or plan offline: --inventory FILE (e.g. fixtures/inventory/example.yaml)',
  });
  try {
    return await readClusterFacts(await cluster.swarm());
  } finally {
    await cluster.close();
  }
}
