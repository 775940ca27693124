import { renderCommand } from '../../runbook/substitute.js';
import type { CommandResult } from '../../transport/types.js';
import { checkStageSkipIf } from './skip-if.js';
import type { StageHandler } from './types.js';

/** Shell commands in order over the node's SSH connection, each with its retries. */
export const runRunStage: StageHandler<'run'> = async (stage, node, run) => {
  const skip = await checkStageSkipIf(stage, node, run);
  if (skip) return skip;
  const scope = run.scopeFor(node);
  for (const command of stage.commands) {
    const text = renderCommand(command.template, scope, { reveal: true }).text;
    let result: CommandResult | undefined;
    for (let attempt = 1; attempt <= stage.retries + 1; attempt++) {
      if (attempt > 1) await run.clock.sleep(stage.retryDelayMs, run.cancelSignal);
      // Asked for each attempt: after a dropped connection the retry reconnects (and the
      // reconnect kills what a timed-out command left behind) instead of failing at once.
      const shell = await run.cluster.shellOf(node.name);
      const { end, ...stream } = run.streamTo(node.name, stage.name);
      result = await shell.exec(text, {
        timeoutMs: stage.timeoutMs,
        sudo: stage.sudo,
        display: command.display,
        signal: run.cancelSignal,
        ...stream,
      });
      // What the masker held back (and a last line without a newline) belongs to this command.
      end();
      result = run.maskResult(result);
      run.emit({ type: 'command', node: node.name, stage: stage.name, result, attempt, at: run.at() });
      if (result.exitCode === 0) break;
    }
    if (result && result.exitCode !== 0) {
      return { ok: false, reason: describeCommandFailure(result), command: result };
    }
  }
  return { ok: true, outcome: 'succeeded' };
};

export function describeCommandFailure(result: CommandResult): string {
  if (result.connectionLost) return `the SSH connection dropped during \`${result.command}\``;
  if (result.timedOut)
    return `\`${result.command}\` timed out after ${Math.round(result.durationMs / 1000)}s`;
  if (result.exitCode === null) return `\`${result.command}\` was killed by ${result.signal ?? 'a signal'}`;
  return `\`${result.command}\` exited ${result.exitCode}`;
}
