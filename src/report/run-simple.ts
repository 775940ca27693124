import { assertNever } from '../errors.js';
import type { RunEvent, RunReporter, StageOutcome } from '../executor/events.js';
import { formatClock } from '../shared/format-clock.js';
import { formatDuration } from '../shared/format-duration.js';
import { countOf } from '../shared/plural.js';
import {
  describeCheck,
  describeExit,
  describeMoveEvent,
  describeWaiting,
  formatEvidence,
  formatHaltReport,
  formatNodeSummary,
  type TextSink,
} from './run-format.js';

export interface SimpleReporterOptions {
  stdout: TextSink;
  /** Also print every line of command output (otherwise only results; a halt shows the last lines). */
  verbose?: boolean;
  /** Colour the status words; defaults to FORCE_COLOR being set to something other than 0/false. */
  color?: boolean;
}

const RULE = '─'.repeat(60);

/**
 * Plain lines for CI logs and pipes: a timestamp on every line, no cursor movement, colour only
 * when asked for. Plain writes rather than listr2's simple renderer because the executor drives
 * the flow with events; a task list would only be a detour.
 */
export function createSimpleReporter(opts: SimpleReporterOptions): RunReporter {
  const color = opts.color ?? isColorForced(process.env.FORCE_COLOR);
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const positions = new Map<string, number>();
  const nodeOutcome = new Map<string, 'running' | 'done' | 'halted'>();
  const stageCounts: Record<StageOutcome, number> = { succeeded: 0, failed: 0, skipped: 0 };
  let totalNodes = 0;

  const write = (at: string, text: string) => opts.stdout.write(`${formatClock(at)} ${text}\n`);
  const label = (node: string) => {
    const position = positions.get(node);
    return position === undefined ? node : `${node} [${position}/${totalNodes}]`;
  };
  const outcomeWord = (outcome: StageOutcome) => {
    if (outcome === 'succeeded') return paint(32, 'succeeded');
    if (outcome === 'failed') return paint(31, 'FAILED');
    return paint(33, 'skipped');
  };
  const statusWord = (status: string) => {
    const word = status.toUpperCase();
    if (status === 'pass') return paint(32, word);
    if (status === 'fail') return paint(31, word);
    if (status === 'warn') return paint(33, word);
    return word;
  };

  function onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-start': {
        totalNodes = event.plan.nodes.length;
        for (const node of event.plan.nodes) positions.set(node.name, node.position);
        // Finished in an earlier session: done, not "not started".
        for (const node of event.doneBefore ?? []) nodeOutcome.set(node, 'done');
        const verb = event.resumed ? 'resumed' : 'started';
        write(
          event.at,
          `run ${event.runId} ${verb}: ${event.plan.runbook.name} on ${countOf(totalNodes, 'node')} (${event.mode})`,
        );
        return;
      }
      case 'preflight': {
        const forced = event.forced ? ` (forced: ${event.forced})` : '';
        write(event.at, `preflight: ${countOf(event.results.length, 'check result')}${forced}`);
        for (const result of event.results) writeCheck(event.at, 'preflight', result);
        return;
      }
      case 'baseline':
        write(event.at, `baseline taken on ${event.nodes.join(', ')}`);
        return;
      case 'lock':
        write(event.at, `lock ${event.action} (owner ${event.owner})`);
        return;
      case 'node-start':
        positions.set(event.node, event.position);
        nodeOutcome.set(event.node, 'running');
        write(
          event.at,
          `${label(event.node)} started (batch ${event.batch}, was ${event.availabilityBefore})`,
        );
        return;
      case 'stage-start':
        write(event.at, `${label(event.node)} ${event.stage} … started`);
        return;
      case 'output':
        if (opts.verbose) {
          const mark = event.stream === 'stderr' ? '!' : '|';
          write(event.at, `${label(event.node)} ${event.stage} ${mark} ${event.line}`);
        }
        return;
      case 'command': {
        const { result } = event;
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
        const ok = result.exitCode === 0 && !result.timedOut;
        const exit = ok ? describeExit(result) : paint(31, describeExit(result));
        const duration = formatDuration(result.durationMs);
        write(
          event.at,
          `${label(event.node)} ${event.stage} $ ${result.command} → ${exit} in ${duration}${attempt}`,
        );
        return;
      }
      case 'progress':
        write(event.at, `${label(event.node)} ${event.stage} … ${event.message}`);
        return;
      case 'waiting':
        write(event.at, `${label(event.node)} ${event.stage} … ${describeWaiting(event)}`);
        return;
      case 'drained': {
        const left =
          event.standalone.length > 0 ? `; standalone containers left: ${event.standalone.join(', ')}` : '';
        const waited = formatDuration(event.waitedMs);
        write(
          event.at,
          `${label(event.node)} drained: ${countOf(event.tasksMoved, 'task')} moved in ${waited}${left}`,
        );
        return;
      }
      case 'paused':
      case 'replicas':
        write(event.at, `${label(event.node)} ${describeMoveEvent(event)}`);
        return;
      case 'activated':
        write(event.at, `${label(event.node)} activated`);
        return;
      case 'rebooted': {
        const boot = `boot id ${event.bootIdBefore} → ${event.bootIdAfter}`;
        write(event.at, `${label(event.node)} rebooted: ${boot}, down ${formatDuration(event.downMs)}`);
        return;
      }
      case 'checks': {
        const stage = event.stage ? ` ${event.stage}` : '';
        const where = event.node === null ? `cluster${stage}` : `${label(event.node)}${stage}`;
        for (const result of event.results) writeCheck(event.at, where, result);
        return;
      }
      case 'stage-end': {
        stageCounts[event.outcome] += 1;
        const message = event.message ? `: ${event.message}` : '';
        const duration = formatDuration(event.durationMs);
        write(
          event.at,
          `${label(event.node)} ${event.stage} ${outcomeWord(event.outcome)} in ${duration}${message}`,
        );
        return;
      }
      case 'node-end':
        nodeOutcome.set(event.node, 'done');
        write(event.at, `${label(event.node)} done (now ${event.availabilityAfter})`);
        return;
      case 'halt':
        nodeOutcome.set(event.report.node, 'halted');
        opts.stdout.write(`${RULE}\n`);
        for (const line of formatHaltReport(event.report)) {
          opts.stdout.write(`${line.startsWith('HALT') ? paint(31, line) : `  ${line}`}\n`);
        }
        opts.stdout.write(`${RULE}\n`);
        return;
      case 'interrupted': {
        const where = event.node ? ` at ${event.node}${event.stage ? ` › ${event.stage}` : ''}` : '';
        if (event.reason === 'window-end') {
          // A planned stop, not a crash: say so, and how the next window continues.
          write(
            event.at,
            `${paint(33, 'WINDOW END')} ${event.message ?? ''}; in the next window: ${event.resumeCommand}`,
          );
          return;
        }
        write(event.at, `${paint(33, 'INTERRUPTED')}${where}; resume with: ${event.resumeCommand}`);
        return;
      }
      case 'warning':
        write(event.at, `${paint(33, 'WARNING')} ${event.source}: ${event.message}`);
        return;
      case 'run-end':
        writeSummary(event);
        return;
      default:
        assertNever(event, 'run event');
    }
  }

  function writeCheck(at: string, where: string, result: Parameters<typeof describeCheck>[0]) {
    const [status, ...rest] = describeCheck(result).split(' ');
    write(at, `${where} check ${statusWord(status?.toLowerCase() ?? '')} ${rest.join(' ')}`);
    const evidence = result.status === 'fail' ? formatEvidence(result.evidence) : undefined;
    if (evidence) write(at, `${where}   evidence: ${evidence}`);
  }

  function writeSummary(event: Extract<RunEvent, { type: 'run-end' }>) {
    const outcomes = [...nodeOutcome.values()];
    const count = (o: string) => outcomes.filter((x) => x === o).length;
    // The executor's count covers every session; journals without it fall back to this session's.
    const nodes = event.summary ?? {
      done: count('done'),
      halted: count('halted'),
      unfinished: count('running'),
      notStarted: Math.max(0, totalNodes - nodeOutcome.size),
      total: totalNodes,
    };
    const outcome =
      event.outcome === 'succeeded' ? paint(32, 'succeeded') : paint(31, event.outcome.toUpperCase());
    write(event.at, `run ${event.runId} ${outcome} after ${formatDuration(event.durationMs)}`);
    write(
      event.at,
      `summary: ${formatNodeSummary(nodes)}; stages ${stageCounts.succeeded} succeeded, ` +
        `${stageCounts.failed} failed, ${stageCounts.skipped} skipped`,
    );
  }

  return { onEvent, async close() {} };
}

function isColorForced(raw: string | undefined): boolean {
  return raw !== undefined && raw !== '' && raw !== '0' && raw !== 'false';
}
