import { assertNever } from '../errors.js';
import { formatDuration } from '../shared/format-duration.js';
import type { PlannedStage } from './types.js';

/** The details of one stage as lines; shared by the text and markdown renderers. */
export function describeStage(stage: PlannedStage): string[] {
  switch (stage.kind) {
    case 'drain':
      return stage.skipReason
        ? [`skip: ${stage.skipReason}`]
        : [`set availability=drain, wait up to ${formatDuration(stage.timeoutMs)} for tasks to move`];
    case 'run':
      return [
        ...stage.commands.map((c) => `$ ${stage.sudo ? 'sudo ' : ''}${c.display}`),
        `timeout ${formatDuration(stage.timeoutMs)} per command` +
          (stage.retries ? `, ${stage.retries} retries every ${formatDuration(stage.retryDelayMs)}` : ''),
      ];
    case 'reboot':
      return [
        `$ ${stage.sudo ? 'sudo ' : ''}${stage.command.display}`,
        `wait up to ${formatDuration(stage.returnTimeoutMs)} for the node to return`,
      ];
    case 'activate':
      return stage.skipReason
        ? [`skip: ${stage.skipReason}`]
        : [`set availability=active, wait up to ${formatDuration(stage.timeoutMs)} for Ready/Active`];
    case 'checks':
      return [`run checks: ${stage.run.join(', ')}`];
    case 'pause':
      return [`wait ${formatDuration(stage.durationMs)}`];
    case 'prompt':
      return [`ask: ${stage.message}`];
    default:
      return assertNever(stage, 'stage kind');
  }
}
