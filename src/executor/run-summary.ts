import { JournalError } from '../errors.js';
import type { PreviousRun } from '../plan/continue-from.js';
import type { RunEvent, RunOutcome } from './events.js';
import type { ConnectionUsed } from './journal-read.js';
import { type RunProgress, replayJournalFile } from './run-progress.js';

/** Where one node of a run stands, as `drydock runs RUN_ID` shows it. */
export type NodeStanding =
  | { kind: 'done' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'stopped'; stage: string; reason: string; drained: boolean }
  | { kind: 'in-progress'; stagesDone: number; stages: number; drained: boolean }
  | { kind: 'not-started' };

/** One `run` or `resume` of a run id. */
export interface RunAttempt {
  startedAt: string;
  resumed: boolean;
  /** user@host that took the lock for this attempt (absent when it never got that far). */
  by?: string;
  outcome: RunOutcome | 'unfinished';
  durationMs: number;
}

/** A run as its journal tells it: the real state, who ran it, how long, every node. */
export interface RunSummary {
  runId: string;
  runbook: { name: string; file: string };
  startedAt: string;
  /** Who started it (user@host). */
  by: string;
  /** Time spent running, summed over attempts (not the nights between them). */
  durationMs: number;
  attempts: RunAttempt[];
  outcome: RunProgress['outcome'];
  stoppedAt: RunProgress['stoppedAt'];
  refusedAttempt: RunProgress['refusedAttempt'];
  /** Nodes this run drained and has not re-activated. */
  drained: string[];
  nodes: { name: string; role: string; standing: NodeStanding }[];
  nodesDone: number;
  /** The connection the run used (no secrets), as journaled. */
  cluster: ConnectionUsed | undefined;
}

/** Read a run's journal (streamed) into its summary. */
export async function summarizeRun(dir: string, runId: string): Promise<RunSummary> {
  const attempts: (RunAttempt & { lastAt: string })[] = [];
  const observe = (event: RunEvent) => {
    const current = attempts.at(-1);
    if (event.type === 'run-start') {
      attempts.push({
        startedAt: event.at,
        resumed: event.resumed,
        outcome: 'unfinished',
        durationMs: 0,
        lastAt: event.at,
      });
      return;
    }
    if (!current) return;
    current.lastAt = event.at;
    if (event.type === 'lock' && event.action === 'acquired') current.by ??= event.owner;
    if (event.type === 'run-end') {
      current.outcome = event.outcome;
      current.durationMs = event.durationMs;
    }
  };
  const progress = await replayJournalFile(dir, runId, observe);
  for (const attempt of attempts) {
    // Killed without a run-end: it ran until its last record.
    if (attempt.outcome === 'unfinished') {
      attempt.durationMs = Math.max(0, Date.parse(attempt.lastAt) - Date.parse(attempt.startedAt));
    }
  }
  return describeProgress(
    progress,
    attempts.map(({ lastAt: _lastAt, ...attempt }) => attempt),
  );
}

/** The summary of a replayed run (pure: tests build progress by hand). */
export function describeProgress(progress: RunProgress, attempts: RunAttempt[]): RunSummary {
  const { header, plan } = progress;
  const by = header.user.includes('@') ? header.user : `${header.user}@${header.host}`;
  const nodes = (plan?.nodes ?? []).map((node) => ({
    name: node.name,
    role: node.role,
    standing: describeStanding(progress, node.name, node.stages.length),
  }));
  return {
    runId: header.runId,
    runbook: { name: plan?.runbook.name ?? '?', file: header.runbookFile },
    cluster: header.cluster,
    startedAt: header.startedAt,
    by,
    durationMs: attempts.reduce((sum, a) => sum + a.durationMs, 0),
    attempts,
    outcome: progress.outcome,
    stoppedAt: progress.stoppedAt,
    refusedAttempt: progress.refusedAttempt,
    drained: [...progress.drainedByRun].sort(),
    nodes,
    nodesDone: nodes.filter((n) => n.standing.kind === 'done' || n.standing.kind === 'skipped').length,
  };
}

function describeStanding(progress: RunProgress, node: string, stages: number): NodeStanding {
  const done = progress.doneStages[node]?.size ?? 0;
  const drained = progress.drainedByRun.has(node);
  if (progress.doneNodes.has(node)) {
    const skipped = progress.skippedNodes[node];
    return skipped ? { kind: 'skipped', reason: skipped } : { kind: 'done' };
  }
  const stop = progress.stoppedAt;
  if (stop && stop.node === node) {
    return { kind: 'stopped', stage: stop.stage, reason: stop.reason, drained };
  }
  if (done > 0 || drained) return { kind: 'in-progress', stagesDone: done, stages, drained };
  return { kind: 'not-started' };
}

/** What `--continue-from` needs of an earlier run (its journal must exist and have a plan). */
export async function readPreviousRun(dir: string, runId: string): Promise<PreviousRun> {
  const progress = await replayJournalFile(dir, runId);
  const { header, plan } = progress;
  if (!plan) {
    throw new JournalError(`run ${runId} never got past its start: it finished no node`, {
      hint: 'start without --continue-from',
    });
  }
  return {
    runId,
    runbook: { name: plan.runbook.name, file: header.runbookFile, hash: header.runbookHash },
    nodes: plan.nodes.map((n) => ({ name: n.name, id: n.id })),
    finished: [...progress.doneNodes].map((name) => ({
      name,
      how: progress.skippedNodes[name] ? 'found already done' : 'finished',
    })),
  };
}
