import type { StageHandler } from './types.js';

/** A timed wait. */
export const runPauseStage: StageHandler<'pause'> = async (stage, _node, run) => {
  await run.clock.sleep(stage.durationMs, run.stopSignal);
  return { ok: true, outcome: 'succeeded' };
};
