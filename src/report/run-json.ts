import type { RunEvent, RunReporter } from '../executor/events.js';
import { safeStringify, type TextSink } from './run-format.js';

/**
 * JSON lines: one object per event, written to stdout as it happens, for machines (`jq`, log
 * shippers, CI annotations). Each line is the `RunEvent` itself, unchanged, so the field names
 * are those of `src/executor/events.ts` and stay stable with it. `type` says which event it is:
 *
 * - `run-start`   `{ runId, plan, resumed, mode, doneBefore?, at }`: `plan` is the full JSON plan (formatVersion 1);
 *                 `doneBefore` (on a resume) the nodes an earlier session finished
 * - `preflight`   `{ results: CheckResult[], forced? }`: `forced` is why a failing pre-flight was overridden
 * - `baseline`    `{ nodes, baseline }`: the snapshot later checks compare against
 * - `lock`        `{ action: acquired|released|kept, owner }`
 * - `node-start`  `{ node, position, batch, availabilityBefore }`
 * - `stage-start` `{ node, stage, kind, index }`
 * - `output`      `{ node, stage, stream: stdout|stderr, line }`
 * - `command`     `{ node, stage, result: CommandResult, attempt }`
 * - `progress`    `{ node, stage, message }`
 * - `waiting`     `{ node, stage, wait: drain|reboot-return|engine-return|activate|checks, waitedMs, timeoutMs?, missing }`:
 *                 a heartbeat while a wait goes on (not journaled)
 * - `drained`     `{ node, nodeId, tasksMoved, waitedMs, standalone }`
 * - `activated`   `{ node }`
 * - `rebooted`    `{ node, bootIdBefore, bootIdAfter, downMs }`
 * - `checks`      `{ node|null, stage|null, results: CheckResult[] }`
 * - `stage-end`   `{ node, stage, index, outcome: succeeded|failed|skipped, durationMs, message? }`
 * - `node-end`    `{ node, availabilityAfter }`
 * - `halt`        `{ report: HaltReport }`: what failed, every node's state, the resume command
 * - `interrupted` `{ node|null, stage|null, resumeCommand }`
 * - `warning`     `{ source: notify|traffic, message }`: `traffic` ones (the plan's `traffic`, one line each)
 *                 follow a new run's `run-start`
 * - `run-end`     `{ runId, outcome: succeeded|halted|interrupted|refused, durationMs, summary }`: `summary`
 *                 counts the nodes over every session: `{ done, halted, unfinished, notStarted, total }`
 *
 * Every event has `at` (ISO 8601). Commands are in display form (secrets masked).
 */
export function createJsonReporter(opts: { stdout: TextSink }): RunReporter {
  return {
    onEvent(event: RunEvent) {
      opts.stdout.write(`${safeStringify(event)}\n`);
    },
    async close() {},
  };
}
