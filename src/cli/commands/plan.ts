import { UsageError } from '../../errors.js';
import { planRollout } from '../../plan/plan-rollout.js';
import type { ClusterFacts } from '../../plan/types.js';
import { renderPlanMarkdown } from '../../report/plan-markdown.js';
import { renderPlanText } from '../../report/plan-text.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import { applyConnectionFlags, type ConnectionFlags, describeDockerEndpoint } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';

export interface PlanOptions extends ConnectionFlags {
  inventory?: string;
  format?: 'text' | 'json' | 'markdown';
}

/** `drydock plan`: the dry-run preview. Reads facts (offline or read-only), changes nothing. */
export async function planCommand(runbookPath: string, options: PlanOptions, io: CliIo): Promise<number> {
  const runbook = await parseRunbookFile(runbookPath);
  const facts = await loadClusterFacts(runbook, options, io);
  const plan = planRollout(runbook, facts, { now: Date.now() });
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
    return await readClusterFacts(await cluster.swarm());
  } finally {
    await cluster.close();
  }
}
