import type { StageHandler } from './types.js';

/** A human gate: the operator confirms; an unattended run continues or halts as the runbook says. */
export const runPromptStage: StageHandler<'prompt'> = async (stage, node, run) => {
  const gate = run.gate;
  if (!gate) {
    return stage.unattended === 'continue'
      ? { ok: true, outcome: 'succeeded', message: 'unattended: continued' }
      : { ok: false, reason: `unattended run reached the human gate: ${stage.message}` };
  }
  const yes = await run.ask(() => gate.confirm(node.name, stage.message));
  return yes ? { ok: true, outcome: 'succeeded' } : { ok: false, reason: 'the operator declined the gate' };
};
