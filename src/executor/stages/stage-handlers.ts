import { runActivateStage } from './activate.js';
import { runChecksStage } from './checks.js';
import { runDrainStage } from './drain.js';
import { runLocalStage } from './local.js';
import { runPauseStage } from './pause.js';
import { runPromptStage } from './prompt.js';
import { runRebootStage } from './reboot.js';
import { runRunStage } from './run.js';
import type { StageHandlers } from './types.js';

/** The one place stage kinds meet their handlers; the mapped type refuses a kind without one. */
export const stageHandlers: StageHandlers = {
  drain: runDrainStage,
  run: runRunStage,
  local: runLocalStage,
  reboot: runRebootStage,
  activate: runActivateStage,
  checks: runChecksStage,
  pause: runPauseStage,
  prompt: runPromptStage,
};
