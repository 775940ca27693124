import type { StageHandler } from './types.js';

/** Checks as a stage of their own, on the node. */
export const runChecksStage: StageHandler<'checks'> = async (stage, node, run) =>
  run.runChecks(stage.run, [node.name], node.name, stage.name);
