import type { StageKind } from '../runbook/types.js';
import { formatDuration } from '../shared/format-duration.js';
import { countOf } from '../shared/plural.js';
import type { PlannedStage } from './types.js';

type StageDescribers = {
  [K in StageKind]: (stage: Extract<PlannedStage, { kind: K }>) => string[];
};

/**
 * One describer per stage kind (a new kind does not compile until it has one). The plan
 * renderers, the operator's prompts and the run reports all describe stages through here.
 */
const stageDescribers: StageDescribers = {
  drain: (stage) =>
    stage.skipReason
      ? [`skip: ${stage.skipReason}`]
      : [
          ...(stage.moveFirst
            ? [
                `move first: pause, scale services up by their tasks on the node, wait up to ${formatDuration(stage.moveTimeoutMs)} for the replacements (running, healthy, ingress backends everywhere; while they are still starting, up to the drain's timeout)`,
              ]
            : []),
          `set availability=drain, wait up to ${formatDuration(stage.timeoutMs)} for tasks to move${stage.moveFirst ? ', scale back' : ''}`,
          'wait until no node routes to the drained tasks any more (IPVS)',
        ],
  run: (stage) => [
    ...stage.commands.map((c) => `$ ${stage.sudo ? 'sudo ' : ''}${c.display}`),
    `timeout ${formatDuration(stage.timeoutMs)} per command` +
      (stage.retries
        ? `, ${countOf(stage.retries, 'retry', 'retries')} every ${formatDuration(stage.retryDelayMs)}`
        : ''),
    ...describeSkipIf(stage),
  ],
  local: (stage) => [
    ...stage.commands.map((c) => `local$ ${c.display}`),
    `timeout ${formatDuration(stage.timeoutMs)} per command` +
      (stage.retries ? `, ${stage.retries} retries every ${formatDuration(stage.retryDelayMs)}` : ''),
    ...(stage.until
      ? [
          `until local$ ${stage.until.command.display} exits 0 (every ${formatDuration(stage.until.intervalMs)}, up to ${formatDuration(stage.until.timeoutMs)})`,
        ]
      : []),
  ],
  reboot: (stage) => [
    `$ ${stage.sudo ? 'sudo ' : ''}${stage.command.display}`,
    `wait up to ${formatDuration(stage.returnTimeoutMs)} for the node to return`,
    ...describeSkipIf(stage),
  ],
  activate: (stage) =>
    stage.skipReason
      ? [`skip: ${stage.skipReason}`]
      : [
          'first ingress-mesh on the node: its own ingress sandbox programmed (no black hole when traffic returns)',
          `set availability=active, wait up to ${formatDuration(stage.timeoutMs)} for Ready/Active`,
        ],
  checks: (stage) => [`run checks: ${stage.run.join(', ')}`],
  pause: (stage) => [`pause ${formatDuration(stage.durationMs)}${stage.reason ? ` — ${stage.reason}` : ''}`],
  prompt: (stage) => [`ask: ${stage.message}`],
};

function describeSkipIf(stage: Extract<PlannedStage, { kind: 'run' | 'reboot' }>): string[] {
  const conditions = stage.skipIf ?? [];
  if (conditions.length === 0) return [];
  return [`skipped if ${conditions.map((c) => c.label).join(' and ')} (checked on the node first)`];
}

/** The details of one stage as lines: commands, waits and timeouts, what it asks. */
export function describeStage(stage: PlannedStage): string[] {
  const describe = stageDescribers[stage.kind] as (s: PlannedStage) => string[];
  return describe(stage);
}
