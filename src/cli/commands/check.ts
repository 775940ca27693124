import { defaultCheckOptions, STANDALONE_CHECKS } from '../../checks/catalogue.js';
import { runChecks, summarizeChecks } from '../../checks/run-checks.js';
import type { CheckName } from '../../checks/types.js';
import { UsageError } from '../../errors.js';
import { renderCheckJson, renderCheckTable } from '../../report/check-table.js';
import type { Runbook } from '../../runbook/types.js';
import { systemClock } from '../../shared/clock.js';
import type { NodeShell, SwarmApi } from '../../transport/types.js';
import { type ConnectionFlags, defaultConnection } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';

export interface CheckCommandOptions extends ConnectionFlags {
  runbook?: string;
  node?: string;
  json?: boolean;
}

/**
 * `drydock check`: runs the catalogue against a live cluster, changing nothing. With a runbook,
 * its afterNode and between checks with its options; without, every check that makes sense
 * outside a run. Baseline-dependent checks compare with absolute expectations (no run began).
 * Exit 0 healthy, 1 unhealthy.
 */
export async function checkCommand(options: CheckCommandOptions, io: CliIo): Promise<number> {
  let runbook: Runbook | undefined;
  if (options.runbook) {
    const { parseRunbookFile } = await import('../../runbook/parse.js');
    runbook = await parseRunbookFile(options.runbook);
  }
  const names: CheckName[] = runbook
    ? [...new Set([...runbook.checks.afterNode, ...runbook.checks.between])].filter(
        (n) => n !== 'reboot-observed',
      )
    : STANDALONE_CHECKS;
  const checkOptions = runbook?.checks.options ?? defaultCheckOptions(15_000);

  const base = runbook?.connection ?? defaultConnection();
  const cluster = await connectWith(base, options, io, {
    command: 'check',
    hint: 'or give --runbook FILE with connection.docker.managers set',
  });
  const startedAt = systemClock.now();
  try {
    const swarm: SwarmApi = await cluster.swarm();
    const nodes = await swarm.listNodes();
    if (options.node && !nodes.some((n) => n.hostname === options.node)) {
      throw new UsageError(`no node named ${options.node} in the swarm`, {
        hint: `nodes: ${nodes.map((n) => n.hostname).join(', ')}`,
      });
    }
    const results = await runChecks(names, {
      scope: options.node ? [options.node] : nodes.map((n) => n.hostname),
      nodes,
      swarm,
      engineOf: (node: string): Promise<SwarmApi> => cluster.engineOf(node),
      shellOf: (node: string): Promise<NodeShell> => cluster.shellOf(node),
      // Outside a run every node should be active: a node left drained is a finding.
      expectedAvailability: Object.fromEntries(nodes.map((n) => [n.hostname, 'active' as const])),
      rebootedFrom: {},
      stageStartedAt: new Date(startedAt),
      options: checkOptions,
      now: systemClock.now,
      sleep: systemClock.sleep,
      sudo: base.ssh.sudo,
    });
    const durationMs = systemClock.now() - startedAt;
    io.stdout(
      options.json ? renderCheckJson(results, { durationMs }) : renderCheckTable(results, { durationMs }),
    );
    return summarizeChecks(results).healthy ? 0 : 1;
  } finally {
    await cluster.close();
  }
}
