import type { CheckResult } from '../../checks/types.js';
import type { HaltReport, RunEvent, RunEventType, RunMode, StageOutcome } from '../../executor/events.js';
import type { JournalHeader, JournalLine } from '../../executor/journal.js';
import type { Plan } from '../../plan/types.js';

/**
 * The run model: everything a report shows, folded from a journal alone (so it works for a
 * killed process too). Pure. Every renderer (HTML, Markdown, JSON) reads this and nothing else.
 * Events already carry commands in display form and output with secrets masked by the executor.
 *
 * Over 400 lines on purpose: the model types and the one handler table per event type stay
 * together, so a new event type fails to compile right next to the shape it must fill.
 */
export type ReportOutcome = 'succeeded' | 'halted' | 'interrupted' | 'refused' | 'unfinished';

export interface RunModel {
  formatVersion: 1;
  runId: string;
  runbook: { name: string; file: string; hash: string };
  operator: { user: string; host: string };
  cluster: Plan['cluster'] | undefined;
  rollout: Plan['rollout'] | undefined;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  outcome: ReportOutcome;
  sessions: SessionModel[];
  halt: HaltReport | undefined;
  interrupted:
    | {
        node: string | null;
        stage: string | null;
        resumeCommand: string;
        /** `window-end`: a planned stop (its message says after which node). */
        windowEnd?: string;
      }
    | undefined;
  /** Set when the journal ends without a run-end: where it stops. */
  truncated:
    | { seq: number; at: string; lastEvent: string; openStage?: { node: string; stage: string } }
    | undefined;
  resumeCommand: string | undefined;
  preflight: { results: CheckResult[]; forced?: string } | undefined;
  baseline: { takenAt: string; nodes: string[] } | undefined;
  locks: { action: 'acquired' | 'released' | 'kept'; owner: string; at: string }[];
  warnings: string[];
  nodes: NodeModel[];
  markers: TimelineMarker[];
}

export interface SessionModel {
  index: number;
  startedAt: string;
  endedAt: string;
  mode: RunMode;
  resumed: boolean;
  outcome: ReportOutcome;
}

export interface NodeModel {
  name: string;
  role: 'manager' | 'worker' | 'unknown';
  leader: boolean;
  address: string;
  position: number;
  state: 'done' | 'failed' | 'in progress' | 'not started';
  availabilityBefore: string | undefined;
  availabilityAfter: string | undefined;
  engineBefore: string | undefined;
  engineAfter: string | undefined;
  bootBefore: string | undefined;
  bootAfter: string | undefined;
  stages: StageRun[];
  checks: CheckRound[];
  /** From the last ip-route check against the baseline; undefined when never checked. */
  routeDiff: { added: string[]; removed: string[] } | undefined;
}

export interface StageRun {
  name: string;
  kind: string;
  session: number;
  startedAt: string;
  endedAt: string | undefined;
  durationMs: number | undefined;
  outcome: StageOutcome | 'open';
  message: string | undefined;
  commands: CommandRun[];
  /** Last lines of streamed output (capped). */
  outputTail: string[];
}

export interface CommandRun {
  command: string;
  attempt: number;
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
  stdoutTail: string[];
  stderrTail: string[];
}

export interface CheckRound {
  at: string;
  stage: string | null;
  verdict: 'pass' | 'warn' | 'fail';
  results: CheckResult[];
}

export type MarkerKind =
  | 'reboot'
  | 'checks'
  | 'halt'
  | 'interrupted'
  | 'resume'
  | 'skip'
  | 'retry'
  | 'soak'
  | 'end';

export interface TimelineMarker {
  kind: MarkerKind;
  /** null: a run-wide marker (drawn on the top row). */
  node: string | null;
  at: string;
  /** For spans (soak gaps): where it ends. */
  until?: string;
  label: string;
  /** Verdict colouring for check rounds. */
  status?: 'pass' | 'warn' | 'fail';
}

export const OUTPUT_TAIL_LINES = 15;
export const LINE_CAP = 400;

export interface BuildOptions {
  /** Given to the resume command when the journal lives outside the default directory. */
  journalDir?: string;
}

interface Builder {
  model: RunModel;
  plan: Plan | undefined;
  nodes: Map<string, NodeModel>;
  session: number;
  lastAt: string;
  options: BuildOptions;
}

type Handlers = { [K in RunEventType]: (b: Builder, event: Extract<RunEvent, { type: K }>) => void };

const HANDLERS: Handlers = {
  'run-start': (b, e) => {
    b.plan ??= e.plan;
    b.model.cluster ??= e.plan.cluster;
    b.model.rollout ??= e.plan.rollout;
    b.model.runbook.name = e.plan.runbook.name;
    for (const planned of e.plan.nodes) nodeOf(b, planned.name);
    b.session = b.model.sessions.length;
    b.model.sessions.push({
      index: b.session,
      startedAt: e.at,
      endedAt: e.at,
      mode: e.mode,
      resumed: e.resumed,
      outcome: 'unfinished',
    });
    if (e.resumed) b.model.markers.push({ kind: 'resume', node: null, at: e.at, label: 'resumed' });
  },
  preflight: (b, e) => {
    b.model.preflight = { results: e.results, ...(e.forced ? { forced: e.forced } : {}) };
    if (e.forced) b.model.warnings.push(`pre-flight failures overridden with --force: ${e.forced}`);
  },
  baseline: (b, e) => {
    b.model.baseline ??= { takenAt: e.baseline.takenAt, nodes: e.nodes };
    for (const [name, snap] of Object.entries(e.baseline.nodes)) {
      const node = nodeOf(b, name);
      node.engineBefore ??= snap.swarm.engineVersion;
      node.bootBefore ??= snap.facts.bootId;
    }
  },
  lock: (b, e) => {
    b.model.locks.push({ action: e.action, owner: e.owner, at: e.at });
  },
  'node-start': (b, e) => {
    const node = nodeOf(b, e.node);
    node.availabilityBefore ??= e.availabilityBefore;
    node.state = 'in progress';
  },
  'stage-start': (b, e) => {
    nodeOf(b, e.node).stages.push({
      name: e.stage,
      kind: e.kind,
      session: b.session,
      startedAt: e.at,
      endedAt: undefined,
      durationMs: undefined,
      outcome: 'open',
      message: undefined,
      commands: [],
      outputTail: [],
    });
  },
  output: (b, e) => {
    const stage = openStage(b, e.node, e.stage);
    if (!stage) return;
    stage.outputTail.push(capLine(e.stream === 'stderr' ? `! ${e.line}` : e.line));
    if (stage.outputTail.length > OUTPUT_TAIL_LINES) stage.outputTail.shift();
  },
  command: (b, e) => {
    const stage = openStage(b, e.node, e.stage);
    if (!stage) return;
    stage.commands.push({
      command: capLine(e.result.command),
      attempt: e.attempt,
      exitCode: e.result.exitCode,
      durationMs: e.result.durationMs,
      timedOut: e.result.timedOut,
      stdoutTail: tailOf(e.result.stdout),
      stderrTail: tailOf(e.result.stderr),
    });
    if (e.attempt > 1) {
      b.model.markers.push({ kind: 'retry', node: e.node, at: e.at, label: `retry (attempt ${e.attempt})` });
    }
  },
  progress: () => {},
  // Never journaled (heartbeats are for the screen); the halt carries the last state.
  waiting: () => {},
  drained: (b, e) => {
    if (e.standalone.length > 0) {
      b.model.warnings.push(
        `${e.node}: draining stopped single-replica or standalone services: ${e.standalone.join(', ')}`,
      );
    }
  },
  activated: () => {},
  paused: () => {},
  replicas: () => {},
  rebooted: (b, e) => {
    const node = nodeOf(b, e.node);
    node.bootBefore ??= e.bootIdBefore;
    node.bootAfter = e.bootIdAfter;
    b.model.markers.push({
      kind: 'reboot',
      node: e.node,
      at: e.at,
      label: `reboot: boot id ${e.bootIdBefore} → ${e.bootIdAfter} (down ${Math.round(e.downMs / 1000)}s)`,
    });
  },
  checks: (b, e) => {
    const verdict = e.results.some((r) => r.status === 'fail')
      ? 'fail'
      : e.results.some((r) => r.status === 'warn')
        ? 'warn'
        : 'pass';
    for (const r of e.results) {
      if (r.status === 'warn') b.model.warnings.push(`${r.node ?? 'cluster'}: ${r.check}: ${r.message}`);
    }
    if (!e.node) return;
    const node = nodeOf(b, e.node);
    node.checks.push({ at: e.at, stage: e.stage, verdict, results: e.results });
    for (const r of e.results) absorbEvidence(node, r);
    b.model.markers.push({
      kind: 'checks',
      node: e.node,
      at: e.at,
      status: verdict,
      label: `checks ${verdict}: ${e.results.map((r) => `${r.check} ${r.status}`).join(', ')}`,
    });
  },
  'stage-end': (b, e) => {
    const stage = openStage(b, e.node, e.stage);
    if (!stage) return;
    stage.endedAt = e.at;
    stage.durationMs = e.durationMs;
    stage.outcome = e.outcome;
    stage.message = e.message;
    if (e.outcome === 'failed') nodeOf(b, e.node).state = 'failed';
    if (e.outcome === 'skipped') {
      b.model.markers.push({ kind: 'skip', node: e.node, at: e.at, label: `${e.stage} skipped` });
    }
  },
  'node-end': (b, e) => {
    const node = nodeOf(b, e.node);
    node.availabilityAfter = e.availabilityAfter;
    node.state = 'done';
  },
  halt: (b, e) => {
    b.model.halt = e.report;
    b.model.resumeCommand = e.report.resumeCommand;
    for (const n of e.report.nodes) {
      const node = nodeOf(b, n.name);
      if (node.state !== 'done') node.availabilityAfter = n.availability;
    }
    b.model.markers.push({
      kind: 'halt',
      node: e.report.node,
      at: e.at,
      label: `halted at ${e.report.stage}: ${e.report.reason}`,
    });
  },
  interrupted: (b, e) => {
    const windowEnd = e.reason === 'window-end' ? (e.message ?? 'window ended') : undefined;
    b.model.interrupted = {
      node: e.node,
      stage: e.stage,
      resumeCommand: e.resumeCommand,
      ...(windowEnd ? { windowEnd } : {}),
    };
    b.model.resumeCommand = e.resumeCommand;
    b.model.markers.push({
      kind: 'interrupted',
      node: e.node,
      at: e.at,
      label: windowEnd ?? 'interrupted (SIGINT/SIGTERM)',
    });
  },
  warning: (b, e) => {
    b.model.warnings.push(`${e.source}: ${e.message}`);
  },
  'run-end': (b, e) => {
    const session = b.model.sessions[b.session];
    if (session) session.outcome = e.outcome;
    b.model.outcome = e.outcome;
    b.model.markers.push({ kind: 'end', node: null, at: e.at, label: `run ${e.outcome}` });
  },
};

/** Fold a journal (header first) into the run model. */
export function buildRunModel(lines: readonly JournalLine[], options: BuildOptions = {}): RunModel {
  const [first, ...rest] = lines;
  const header = first as JournalHeader;
  const b: Builder = {
    model: emptyModel(header),
    plan: undefined,
    nodes: new Map(),
    session: -1,
    lastAt: header.startedAt,
    options,
  };
  let lastOutcome: ReportOutcome | undefined;
  for (const line of rest) {
    const event = line as RunEvent;
    if (event.type === 'run-start') {
      // A resumed session starts over: halt and interruption belong to the session before.
      lastOutcome = undefined;
      b.model.halt = undefined;
      b.model.interrupted = undefined;
    }
    (HANDLERS[event.type] as (b: Builder, e: RunEvent) => void)(b, event);
    if (event.type === 'run-end') lastOutcome = event.outcome;
    b.lastAt = event.at ?? b.lastAt;
    const session = b.model.sessions[b.session];
    if (session) session.endedAt = b.lastAt;
  }
  finish(b, rest as RunEvent[], lastOutcome);
  return b.model;
}

function finish(b: Builder, events: RunEvent[], lastOutcome: ReportOutcome | undefined): void {
  const m = b.model;
  m.endedAt = b.lastAt;
  m.durationMs = Math.max(0, Date.parse(m.endedAt) - Date.parse(m.startedAt));
  m.outcome = lastOutcome ?? 'unfinished';
  addSoakGaps(b);
  if (!lastOutcome) {
    const last = events.at(-1);
    const open = [...b.nodes.values()]
      .flatMap((n) =>
        n.stages.filter((s) => s.outcome === 'open').map((s) => ({ node: n.name, stage: s.name })),
      )
      .at(-1);
    m.truncated = {
      seq: (last as { seq?: number } | undefined)?.seq ?? 0,
      at: b.lastAt,
      lastEvent: last ? describeEvent(last) : 'the journal header',
      ...(open ? { openStage: open } : {}),
    };
    m.resumeCommand ??= `drydock resume ${m.runId}${b.options.journalDir ? ` --journal-dir ${b.options.journalDir}` : ''}`;
  }
  if (m.outcome === 'succeeded') m.resumeCommand = undefined;
  const order = b.plan?.nodes.map((n) => n.name) ?? [];
  m.nodes = [...b.nodes.values()].sort(
    (x, y) => rank(order, x.name) - rank(order, y.name) || x.name.localeCompare(y.name),
  );
}

/** Soak gaps: the wait between one node's end and the next node's start, when the runbook soaks. */
function addSoakGaps(b: Builder): void {
  if (!b.model.rollout?.soakBetweenNodesMs) return;
  const ends = [...b.nodes.values()].flatMap((n) => {
    const last = n.stages.at(-1);
    return n.state === 'done' && last?.endedAt ? [last.endedAt] : [];
  });
  const starts = [...b.nodes.values()].flatMap((n) => (n.stages[0] ? [n.stages[0].startedAt] : []));
  for (const end of ends) {
    const next = starts.filter((s) => s > end).sort()[0];
    if (next) b.model.markers.push({ kind: 'soak', node: null, at: end, until: next, label: 'soak' });
  }
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}

function emptyModel(header: JournalHeader): RunModel {
  const [user, host] = header.user.includes('@') ? header.user.split('@', 2) : [header.user, header.host];
  return {
    formatVersion: 1,
    runId: header.runId,
    runbook: { name: '', file: header.runbookFile, hash: header.runbookHash },
    operator: { user: user ?? header.user, host: host ?? header.host },
    cluster: undefined,
    rollout: undefined,
    startedAt: header.startedAt,
    endedAt: header.startedAt,
    durationMs: 0,
    outcome: 'unfinished',
    sessions: [],
    halt: undefined,
    interrupted: undefined,
    truncated: undefined,
    resumeCommand: undefined,
    preflight: undefined,
    baseline: undefined,
    locks: [],
    warnings: [],
    nodes: [],
    markers: [],
  };
}

function nodeOf(b: Builder, name: string): NodeModel {
  let node = b.nodes.get(name);
  if (!node) {
    const planned = b.plan?.nodes.find((n) => n.name === name);
    node = {
      name,
      role: planned?.role ?? 'unknown',
      leader: planned?.leader ?? false,
      address: planned?.address ?? '',
      position: planned?.position ?? 0,
      state: 'not started',
      availabilityBefore: undefined,
      availabilityAfter: undefined,
      engineBefore: undefined,
      engineAfter: undefined,
      bootBefore: undefined,
      bootAfter: undefined,
      stages: [],
      checks: [],
      routeDiff: undefined,
    };
    b.nodes.set(name, node);
  }
  return node;
}

function openStage(b: Builder, node: string, stage: string): StageRun | undefined {
  return nodeOf(b, node)
    .stages.filter((s) => s.name === stage)
    .at(-1);
}

/** Facts checks report as evidence: the engine version now, the route diff against the baseline. */
function absorbEvidence(node: NodeModel, result: CheckResult): void {
  const evidence = result.evidence as Record<string, unknown> | undefined;
  if (!evidence || typeof evidence !== 'object') return;
  if (result.check === 'ip-route') {
    node.routeDiff = {
      added: stringsOf(evidence.added),
      removed: stringsOf(evidence.removed),
    };
  }
  if (result.check === 'engine-version') {
    const versions = evidence.versions as Record<string, unknown> | undefined;
    const mine = versions?.[node.name] ?? evidence.version;
    if (typeof mine === 'string') node.engineAfter = mine;
  }
}

function stringsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

function tailOf(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-OUTPUT_TAIL_LINES)
    .map(capLine);
}

function capLine(line: string): string {
  return line.length > LINE_CAP ? `${line.slice(0, LINE_CAP)}…` : line;
}

/** One phrase per event type, for "the journal ends after …". */
export function describeEvent(event: RunEvent): string {
  const where = 'node' in event && event.node ? ` on ${event.node}` : '';
  const stage = 'stage' in event && event.stage ? `/${event.stage}` : '';
  return `${event.type}${where}${stage}`;
}
