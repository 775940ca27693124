import { formatClock } from '../../shared/format-clock.js';
import { formatDuration } from '../../shared/format-duration.js';
import type { PauseDecision } from '../events.js';
import type { StageHandler } from './types.js';

/**
 * A timed wait on the injected clock. A stop signal ends it early and the stage does not count
 * as done, so a resume waits again in full. Interactive runs may skip the rest of it.
 */
export const runPauseStage: StageHandler<'pause'> = async (stage, node, run) => {
  const startedAt = run.clock.now();
  const summary =
    `pausing ${formatDuration(stage.durationMs)}${stage.reason ? ` — ${stage.reason}` : ''}: ` +
    `started ${formatClock(startedAt)}, continuing at ${formatClock(startedAt + stage.durationMs)}`;
  run.note(node.name, summary, stage.name);

  // Ends the wait early (the operator decided) and closes the offer (the wait ran out).
  const ended = new AbortController();
  const gate = run.gate;
  const offer: Promise<PauseDecision> = gate?.whilePausing
    ? run
        .ask(() =>
          ended.signal.aborted
            ? Promise.resolve<PauseDecision>('waited')
            : gate.whilePausing!(node.name, stage.name, summary, ended.signal),
        )
        .finally(() => ended.abort())
    : Promise.resolve('waited');
  await run.clock.sleep(stage.durationMs, AbortSignal.any([run.stopSignal, ended.signal]));
  ended.abort();
  const decision = await offer;

  if (run.stopSignal.aborted) run.interrupt(node.name, stage.name);
  if (decision === 'abort') run.halt(node.name, stage.name, 'aborted by the operator');
  const waited = formatDuration(run.clock.now() - startedAt);
  return decision === 'skip'
    ? { ok: true, outcome: 'skipped', message: `the operator skipped the rest of the pause after ${waited}` }
    : { ok: true, outcome: 'succeeded', message: `paused ${waited}` };
};
