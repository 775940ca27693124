import type { Baseline } from '../checks/types.js';
import { JournalError, type StopReason } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { SwarmNode } from '../transport/types.js';
import type { NodeSummary, RunEvent, ScaledService } from './events.js';
import { type JournalHeader, type JournalLine, journalPath } from './journal.js';
import { readJournalRecords } from './journal-read.js';

/**
 * What a run has done so far, derived from its events. The executor keeps it up to date as it
 * goes; resume rebuilds it from the journal, so both read the same facts.
 */
export interface RunProgress {
  header: JournalHeader;
  plan: Plan | undefined;
  baseline: Baseline | undefined;
  /** Availability recorded when the node was first started: the truth for "did we drain it?". */
  availabilityBefore: Record<string, SwarmNode['availability']>;
  /** Stages finished (succeeded or skipped) per node, by stage name. */
  doneStages: Record<string, Set<string>>;
  doneNodes: Set<string>;
  /** Nodes skipped whole (already done), with why. They are in doneNodes too. */
  skippedNodes: Record<string, string>;
  /** Nodes this run set to drain (and so may re-activate). */
  drainedByRun: Set<string>;
  /** The swarm node ID each drain acted on (journals before it was recorded lack it). */
  drainedIds: Record<string, string>;
  /** Services scaled up to start replacements before a drain, not yet set back (per node). */
  scaledByRun: Record<string, ScaledService[]>;
  /** Boot id before each reboot this run performed. */
  rebootedFrom: Record<string, string>;
  /** The last stage that failed or was interrupted, if any. */
  stoppedAt: { node: string; stage: string; reason: string } | undefined;
  outcome: 'succeeded' | 'halted' | 'interrupted' | 'refused' | 'running' | 'unknown';
  /** The reason of the first `--force-preflight` that overrode a failed pre-flight. */
  forcedPreflight?: string;
  /** Set when the last stop was `interrupted`: by a signal or at the window's end. */
  stopReason?: StopReason;
  lockOwner: string | undefined;
  /**
   * A later attempt (a resume) refused before changing anything: it does not hide where the run
   * really stands (outcome and stoppedAt stay those of the attempt before it).
   */
  refusedAttempt: { stage: string; reason: string; at: string } | undefined;
  /** Where the run stood when the current attempt began (resumes only). */
  standing: { outcome: RunProgress['outcome']; stoppedAt: RunProgress['stoppedAt'] } | undefined;
}

export function emptyProgress(header: JournalHeader): RunProgress {
  return {
    header,
    plan: undefined,
    baseline: undefined,
    availabilityBefore: {},
    doneStages: {},
    doneNodes: new Set(),
    skippedNodes: {},
    drainedByRun: new Set(),
    drainedIds: {},
    scaledByRun: {},
    rebootedFrom: {},
    stoppedAt: undefined,
    outcome: 'unknown',
    lockOwner: undefined,
    refusedAttempt: undefined,
    standing: undefined,
  };
}

/** Fold one event into the progress (used live and on replay). */
export function applyEvent(progress: RunProgress, event: RunEvent): void {
  switch (event.type) {
    case 'run-start':
      progress.standing = progress.plan
        ? { outcome: progress.outcome, stoppedAt: progress.stoppedAt }
        : undefined;
      progress.plan ??= event.plan;
      progress.outcome = 'running';
      delete progress.stopReason;
      break;
    case 'baseline':
      progress.baseline ??= event.baseline;
      break;
    case 'node-start':
      progress.availabilityBefore[event.node] ??= event.availabilityBefore as SwarmNode['availability'];
      break;
    case 'stage-start':
      // A stage starting on the node ends whatever stop was recorded there (a failure then a retry).
      if (progress.stoppedAt?.node === event.node) progress.stoppedAt = undefined;
      break;
    case 'stage-end':
      if (event.outcome !== 'failed') {
        let done = progress.doneStages[event.node];
        if (!done) {
          done = new Set();
          progress.doneStages[event.node] = done;
        }
        done.add(event.stage);
      } else {
        progress.stoppedAt = { node: event.node, stage: event.stage, reason: event.message ?? 'failed' };
      }
      break;
    case 'drained':
      progress.drainedByRun.add(event.node);
      if (event.nodeId) progress.drainedIds[event.node] = event.nodeId;
      break;
    case 'paused':
      progress.drainedByRun.add(event.node);
      progress.drainedIds[event.node] = event.nodeId;
      break;
    case 'replicas':
      if (event.action === 'scaled-up') progress.scaledByRun[event.node] = event.services;
      else {
        const restored = new Set(event.services.map((s) => s.id));
        const left = (progress.scaledByRun[event.node] ?? []).filter((s) => !restored.has(s.id));
        if (left.length > 0) progress.scaledByRun[event.node] = left;
        else delete progress.scaledByRun[event.node];
      }
      break;
    case 'activated':
      progress.drainedByRun.delete(event.node);
      break;
    case 'rebooted':
      progress.rebootedFrom[event.node] = event.bootIdBefore;
      break;
    case 'node-end':
      progress.doneNodes.add(event.node);
      if (event.skipped) progress.skippedNodes[event.node] = event.skipped;
      break;
    case 'halt':
      progress.outcome = 'halted';
      progress.stoppedAt = {
        node: event.report.node,
        stage: event.report.stage,
        reason: event.report.reason,
      };
      break;
    case 'interrupted':
      progress.outcome = 'interrupted';
      progress.stopReason = event.reason ?? 'signal';
      if (event.node && event.stage) {
        progress.stoppedAt = { node: event.node, stage: event.stage, reason: 'interrupted' };
      }
      break;
    case 'lock':
      progress.lockOwner = event.action === 'released' ? undefined : event.owner;
      break;
    case 'run-end':
      applyRunEnd(progress, event);
      break;
    case 'preflight':
      if (event.forced) progress.forcedPreflight ??= event.forced;
      break;
    case 'output':
    case 'command':
    case 'checks':
    case 'progress':
    case 'waiting':
    case 'warning':
      break;
  }
}

function applyRunEnd(progress: RunProgress, event: Extract<RunEvent, { type: 'run-end' }>): void {
  const standing = progress.standing;
  if (event.outcome === 'refused' && standing && standing.outcome !== 'unknown') {
    // A refused resume changed nothing: the run still stands where the attempt before left it.
    const refusal = progress.stoppedAt !== standing.stoppedAt ? progress.stoppedAt : undefined;
    progress.refusedAttempt = {
      stage: refusal?.stage ?? 'start',
      reason: refusal?.reason ?? 'refused',
      at: event.at,
    };
    progress.outcome = standing.outcome;
    progress.stoppedAt = standing.stoppedAt;
    return;
  }
  progress.outcome = event.outcome;
  if (event.outcome === 'succeeded') {
    // A resume that finished leaves no stop behind.
    progress.stoppedAt = undefined;
    progress.refusedAttempt = undefined;
  }
}

/** Replay a journal into progress. A run killed mid-stage shows as `running` with that stage open. */
export function replayJournal(lines: Iterable<JournalLine>): RunProgress {
  let replay: ReturnType<typeof startReplay> | undefined;
  for (const line of lines) {
    if (replay) replay.add(line as RunEvent);
    else replay = startReplay(line as JournalHeader);
  }
  if (!replay) throw new JournalError('an empty journal has nothing to replay');
  return replay.finish();
}

/** Replay a journal file as it streams from disk: a journal of any size, in bounded memory. */
export async function replayJournalFile(
  dir: string,
  runId: string,
  /** Sees every event too, in order (e.g. to time a run's attempts). */
  observe?: (event: RunEvent) => void,
): Promise<RunProgress> {
  let replay: ReturnType<typeof startReplay> | undefined;
  for await (const line of readJournalRecords(journalPath(dir, runId), runId)) {
    if (replay) {
      replay.add(line as RunEvent);
      observe?.(line as RunEvent);
    } else replay = startReplay(line as JournalHeader);
  }
  if (!replay) throw new JournalError(`the journal of run ${runId} is empty`);
  return replay.finish();
}

function startReplay(header: JournalHeader) {
  const progress = emptyProgress(header);
  // Stages started and not ended, in start order: where a killed run stopped.
  const open = new Map<string, { node: string; stage: string }>();
  return {
    add(event: RunEvent): void {
      applyEvent(progress, event);
      if (event.type === 'stage-start') {
        open.set(`${event.node}\u0000${event.stage}`, { node: event.node, stage: event.stage });
      }
      if (event.type === 'stage-end') open.delete(`${event.node}\u0000${event.stage}`);
    },
    finish(): RunProgress {
      if (progress.outcome === 'running' || progress.outcome === 'unknown') {
        // Killed without a goodbye: the last started stage without an end is where it stopped.
        const last = [...open.values()].at(-1);
        if (last) {
          progress.outcome = 'running';
          progress.stoppedAt = { ...last, reason: 'the process ended mid-stage (killed?)' };
        }
      }
      return progress;
    },
  };
}

/**
 * Every planned node's state over the whole run (earlier sessions included): what summaries
 * count, so a node finished before a resume is done, not "not started".
 */
export function summarizeNodes(progress: RunProgress): NodeSummary {
  const names = progress.plan?.nodes.map((n) => n.name) ?? [];
  const halted = progress.outcome === 'halted' ? progress.stoppedAt?.node : undefined;
  const summary: NodeSummary = { done: 0, halted: 0, unfinished: 0, notStarted: 0, total: names.length };
  for (const name of names) {
    if (progress.doneNodes.has(name)) summary.done++;
    else if (name === halted) summary.halted++;
    else if (progress.availabilityBefore[name] !== undefined) summary.unfinished++;
    else summary.notStarted++;
  }
  return summary;
}

export function isStageDone(progress: RunProgress, node: string, stage: string): boolean {
  return progress.doneStages[node]?.has(stage) ?? false;
}
