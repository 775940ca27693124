import { renderCommand } from '../../runbook/substitute.js';
import { waitUntil } from '../../shared/wait-until.js';
import type { CommandResult } from '../../transport/types.js';
import { describeCommandFailure } from './run.js';
import type { StageHandler } from './types.js';

/**
 * Commands on the operator's machine (e.g. take the node out of an external load balancer), each
 * with its retries, then an optional condition polled until it holds: the runbook needs no loop.
 */
export const runLocalStage: StageHandler<'local'> = async (stage, node, run) => {
  const local = run.local;
  if (!local) return { ok: false, reason: 'local commands are not available in this run' };
  const scope = run.scopeFor(node);
  const exec = async (template: string, display: string, timeoutMs: number): Promise<CommandResult> =>
    run.maskResult(
      await local.exec(renderCommand(template, scope, { reveal: true }).text, {
        timeoutMs,
        display,
        signal: run.cancelSignal,
        ...run.streamTo(node.name, stage.name),
      }),
    );
  for (const command of stage.commands) {
    let result: CommandResult | undefined;
    for (let attempt = 1; attempt <= stage.retries + 1; attempt++) {
      if (attempt > 1) await run.clock.sleep(stage.retryDelayMs, run.cancelSignal);
      result = await exec(command.template, command.display, stage.timeoutMs);
      run.emit({ type: 'command', node: node.name, stage: stage.name, result, attempt, at: run.at() });
      if (result.exitCode === 0) break;
    }
    if (result && result.exitCode !== 0) {
      return { ok: false, reason: `local ${describeCommandFailure(result)}`, command: result };
    }
  }
  const until = stage.until;
  if (!until) return { ok: true, outcome: 'succeeded' };
  let tries = 0;
  const startedAt = run.clock.now();
  const clock = { now: run.clock.now, sleep: run.clock.sleep, signal: run.stopSignal };
  const { value, done, waitedMs } = await waitUntil(
    clock,
    until.timeoutMs,
    async () => {
      tries++;
      // Each try is bounded by what is left of the wait, so a hung condition cannot outlast it.
      const left = Math.max(1000, until.timeoutMs - (run.clock.now() - startedAt));
      const result = await exec(until.command.template, until.command.display, left);
      return { done: result.exitCode === 0, value: result };
    },
    { pollMs: until.intervalMs },
  );
  // One command event for the whole wait: the last try, with how many there were.
  run.emit({
    type: 'command',
    node: node.name,
    stage: stage.name,
    result: value,
    attempt: tries,
    at: run.at(),
  });
  if (run.stopSignal.aborted && !done) run.interrupt(node.name, stage.name);
  if (done) return { ok: true, outcome: 'succeeded', message: `condition held after ${tries} tries` };
  return {
    ok: false,
    reason: `local condition \`${value.command}\` did not hold within ${Math.round(waitedMs / 1000)}s (${describeCommandFailure(value)})`,
    command: value,
  };
};
