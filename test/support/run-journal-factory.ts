import type { CheckResult } from '../../src/checks/types.js';
import type { RunEvent } from '../../src/executor/events.js';
import type { JournalHeader, JournalLine } from '../../src/executor/journal.js';
import type { Plan, PlannedNode } from '../../src/plan/types.js';

/**
 * Recorded journals for report tests: the event sequences the executor writes, with real
 * timestamps advancing, for a plan of N workers (drain → patch → reboot → activate).
 */
type Untimed<E> = E extends RunEvent ? Omit<E, 'at'> : never;

export const STAGES = [
  { name: 'drain', kind: 'drain' },
  { name: 'patch', kind: 'run' },
  { name: 'reboot', kind: 'reboot' },
  { name: 'rejoin', kind: 'activate' },
] as const;

export function planFor(count: number): Plan {
  const nodes: PlannedNode[] = Array.from({ length: count }, (_, i) => ({
    name: `node${i + 1}`,
    id: `id${i + 1}`,
    address: `10.0.${Math.floor(i / 200)}.${(i % 200) + 10}`,
    role: i === 0 ? 'manager' : 'worker',
    leader: i === 0,
    availabilityBefore: 'active',
    position: i + 1,
    batch: i + 1,
    reason: 'worker',
    notes: [],
    stages: [],
  }));
  return {
    formatVersion: 1,
    runbook: { name: 'rolling-patch', file: 'runbooks/rolling-patch.yaml', hash: 'f00d'.repeat(16) },
    cluster: { source: 'docker', origin: 'ssh://10.0.0.10', nodes: count, managers: 1, leader: 'node1' },
    rollout: { concurrency: 1, soakBetweenNodesMs: 30_000 },
    checks: { preflight: ['node-ready'], between: ['node-ready'], afterNode: ['node-ready', 'ip-route'] },
    variables: [{ name: 'token', value: '*****', secret: true, source: 'env TOKEN' }],
    batches: nodes.map((n) => ({ number: n.batch, role: n.role, nodes: [n.name] })),
    nodes,
    skipped: [],
    warnings: [],
  };
}

export class JournalRecorder {
  readonly lines: JournalLine[] = [];
  private now: number;
  constructor(
    readonly runId = '20240501-120000-abcd',
    start = Date.parse('2024-05-01T12:00:00.000Z'),
  ) {
    this.now = start;
    const header: JournalHeader = {
      type: 'journal-header',
      formatVersion: 1,
      runId,
      runbookFile: 'runbooks/rolling-patch.yaml',
      runbookHash: 'f00d'.repeat(16),
      startedAt: new Date(start).toISOString(),
      connection: {},
      user: 'alice@ops-laptop',
      host: 'ops-laptop',
    };
    this.lines.push({ ...header, seq: 0 });
  }
  wait(ms: number): this {
    this.now += ms;
    return this;
  }
  emit(event: Untimed<RunEvent>, afterMs = 1000): this {
    this.now += afterMs;
    this.lines.push({ ...(event as RunEvent), at: new Date(this.now).toISOString(), seq: this.lines.length });
    return this;
  }
}

const pass = (check: CheckResult['check'], node: string, evidence?: unknown): CheckResult => ({
  check,
  node,
  status: 'pass',
  message: `${node} ok`,
  durationMs: 100,
  ...(evidence ? { evidence } : {}),
});

export function startRun(r: JournalRecorder, plan: Plan, resumed = false): void {
  r.emit({ type: 'run-start', runId: r.runId, plan, resumed, mode: 'unattended' }, 0);
  r.emit({ type: 'lock', action: 'acquired', owner: 'alice@ops-laptop' });
  r.emit({ type: 'preflight', results: plan.nodes.map((n) => pass('node-ready', n.name)) });
  if (!resumed) {
    const nodes = Object.fromEntries(
      plan.nodes.map((n) => [
        n.name,
        {
          facts: { bootId: `boot-${n.name}-a` },
          swarm: { engineVersion: '20.10.24' },
        },
      ]),
    );
    r.emit({
      type: 'baseline',
      nodes: plan.nodes.map((n) => n.name),
      baseline: { takenAt: '2024-05-01T12:00:02.000Z', nodes } as never,
    });
  }
}

/** One node through every stage; `failAt` makes that stage fail (exit 100) and halt the run. */
export function maintainNode(r: JournalRecorder, plan: Plan, node: string, failAt?: string): boolean {
  const position = plan.nodes.findIndex((n) => n.name === node) + 1;
  r.emit({ type: 'node-start', node, position, batch: position, availabilityBefore: 'active' });
  for (const [index, stage] of STAGES.entries()) {
    r.emit({ type: 'stage-start', node, stage: stage.name, kind: stage.kind, index });
    const fails = stage.name === failAt;
    if (stage.name === 'patch') {
      r.emit({ type: 'output', node, stage: 'patch', stream: 'stdout', line: 'Reading package lists...' });
      r.emit(
        {
          type: 'command',
          node,
          stage: 'patch',
          attempt: 1,
          result: {
            node,
            command: 'curl -H "Authorization: *****" https://repo/ && apt-get -y upgrade',
            exitCode: fails ? 100 : 0,
            signal: null,
            stdout: 'Reading package lists...\n',
            stderr: fails ? 'E: Could not get lock /var/lib/dpkg/lock-frontend' : '',
            durationMs: 8000,
            timedOut: false,
            connectionLost: false,
          },
        },
        8000,
      );
    }
    if (stage.name === 'reboot') {
      r.emit(
        {
          type: 'rebooted',
          node,
          bootIdBefore: `boot-${node}-a`,
          bootIdAfter: `boot-${node}-b`,
          downMs: 20_000,
        },
        25_000,
      );
    }
    if (fails) {
      const failedCheck: CheckResult = {
        check: 'node-ready',
        node,
        status: 'fail',
        message: `${node} is down`,
        evidence: { state: 'down' },
        hint: `power ${node} on, then resume`,
        durationMs: 100,
      };
      r.emit({ type: 'checks', node, stage: stage.name, results: [failedCheck] });
      r.emit({
        type: 'stage-end',
        node,
        stage: stage.name,
        index,
        outcome: 'failed',
        durationMs: 9000,
        message: 'command exited with 100',
      });
      r.emit({
        type: 'halt',
        report: {
          runId: r.runId,
          node,
          stage: stage.name,
          reason: 'command exited with 100',
          command: {
            node,
            command: 'curl -H "Authorization: *****" https://repo/ && apt-get -y upgrade',
            exitCode: 100,
            signal: null,
            stdout: '',
            stderr: 'E: Could not get lock',
            durationMs: 8000,
            timedOut: false,
            connectionLost: false,
          },
          failedChecks: [failedCheck],
          lastOutput: ['Reading package lists...', 'E: Could not get lock /var/lib/dpkg/lock-frontend'],
          nodes: plan.nodes.map((n) => ({
            name: n.name,
            availability: n.name === node ? 'drain' : 'active',
            state: 'ready',
            progress: n.name === node ? `failed at ${stage.name}` : '',
          })),
          resumeCommand: `drydock resume ${r.runId}`,
        },
      });
      r.emit({ type: 'lock', action: 'kept', owner: 'alice@ops-laptop' });
      r.emit({ type: 'run-end', runId: r.runId, outcome: 'halted', durationMs: 100_000 });
      return false;
    }
    r.emit({ type: 'checks', node, stage: stage.name, results: [pass('node-ready', node)] });
    r.emit({ type: 'stage-end', node, stage: stage.name, index, outcome: 'succeeded', durationMs: 4000 });
  }
  r.emit({
    type: 'checks',
    node,
    stage: null,
    results: [
      pass('node-ready', node),
      {
        ...pass('ip-route', node),
        status: 'warn',
        message: 'routes changed',
        evidence: { added: ['10.9.0.0/24 dev eth1'], removed: [] },
      },
      pass('engine-version', node, { version: '24.0.7' }),
    ],
  });
  r.emit({ type: 'node-end', node, availabilityAfter: 'active' });
  return true;
}

export function endRun(
  r: JournalRecorder,
  outcome: 'succeeded' | 'halted' | 'interrupted' | 'refused',
): void {
  r.emit({ type: 'lock', action: outcome === 'succeeded' ? 'released' : 'kept', owner: 'alice@ops-laptop' });
  r.emit({ type: 'run-end', runId: r.runId, outcome, durationMs: 100_000 });
}

export function succeededJournal(count = 3): JournalLine[] {
  const r = new JournalRecorder();
  const plan = planFor(count);
  startRun(r, plan);
  for (const n of plan.nodes) {
    maintainNode(r, plan, n.name);
    r.wait(30_000);
  }
  endRun(r, 'succeeded');
  return r.lines;
}

export function haltedJournal(
  count = 3,
  recorder = new JournalRecorder(),
): { r: JournalRecorder; plan: Plan } {
  const plan = planFor(count);
  startRun(recorder, plan);
  maintainNode(recorder, plan, 'node1');
  recorder.wait(30_000);
  maintainNode(recorder, plan, 'node2', 'patch');
  return { r: recorder, plan };
}

export function resumedJournal(): JournalLine[] {
  const { r, plan } = haltedJournal();
  r.wait(3 * 3_600_000);
  startRun(r, plan, true);
  maintainNode(r, plan, 'node2');
  r.wait(30_000);
  maintainNode(r, plan, 'node3');
  endRun(r, 'succeeded');
  return r.lines;
}

export function interruptedJournal(): JournalLine[] {
  const r = new JournalRecorder();
  const plan = planFor(3);
  startRun(r, plan);
  maintainNode(r, plan, 'node1');
  r.emit({ type: 'interrupted', node: 'node1', stage: null, resumeCommand: `drydock resume ${r.runId}` });
  endRun(r, 'interrupted');
  return r.lines;
}

/** A run killed in the middle of node2's patch: the journal just stops. */
export function truncatedJournal(): JournalLine[] {
  const r = new JournalRecorder();
  const plan = planFor(3);
  startRun(r, plan);
  maintainNode(r, plan, 'node1');
  const lines = r.lines;
  r.emit({ type: 'node-start', node: 'node2', position: 2, batch: 2, availabilityBefore: 'active' });
  r.emit({ type: 'stage-start', node: 'node2', stage: 'drain', kind: 'drain', index: 0 });
  r.emit({
    type: 'stage-end',
    node: 'node2',
    stage: 'drain',
    index: 0,
    outcome: 'succeeded',
    durationMs: 3000,
  });
  r.emit({ type: 'stage-start', node: 'node2', stage: 'patch', kind: 'run', index: 1 });
  r.emit({ type: 'output', node: 'node2', stage: 'patch', stream: 'stdout', line: 'Unpacking linux-image…' });
  return lines;
}
