import type { CheckResult } from '../../../src/checks/types.js';
import type { RunEvent } from '../../../src/executor/events.js';
import type { Plan, PlannedNode, PlannedStage } from '../../../src/plan/types.js';
import type { CommandResult } from '../../../src/transport/types.js';

const STAGES = ['drain', 'patch', 'activate'] as const;

function planStage(name: (typeof STAGES)[number], index: number): PlannedStage {
  if (name === 'patch') {
    const command = { template: 'apt-get upgrade -y', display: 'apt-get upgrade -y', hasSecrets: false };
    return {
      kind: 'run',
      index,
      name,
      checksAfter: ['node-ready'],
      conditions: [],
      commands: [command],
      sudo: true,
      timeoutMs: 600_000,
      retries: 0,
      retryDelayMs: 0,
    };
  }
  const base = { index, checksAfter: ['node-ready' as const], conditions: [], timeoutMs: 60_000 };
  return name === 'drain'
    ? { ...base, kind: name, name, moveFirst: true, moveTimeoutMs: 180_000 }
    : { ...base, kind: name, name };
}

function planNode(name: string, position: number): PlannedNode {
  return {
    name,
    id: `id-${name}`,
    address: `10.0.0.${position}`,
    role: 'worker',
    leader: false,
    availabilityBefore: 'active',
    position,
    batch: position,
    reason: `worker, batch ${position} of 3`,
    notes: [],
    stages: STAGES.map(planStage),
  };
}

/** A three-node plan (drain → patch → activate on each worker). */
export function createPlan(): Plan {
  const nodes = ['node1', 'node2', 'node3'].map((name, i) => planNode(name, i + 1));
  return {
    formatVersion: 1,
    runbook: { name: 'rolling-patch', file: 'runbooks/rolling-patch.yaml', hash: 'abc123' },
    cluster: { source: 'inventory', origin: 'inventory.yaml', nodes: 3, managers: 1, leader: 'mgr1' },
    rollout: { concurrency: 1, soakBetweenNodesMs: 0 },
    checks: { preflight: ['node-ready'], between: ['node-ready'], afterNode: [] },
    variables: [],
    batches: nodes.map((n) => ({ number: n.batch, role: 'worker' as const, nodes: [n.name] })),
    nodes,
    skipped: [],
    warnings: [],
  };
}

const AT = '2024-05-01T12:01:02.000Z';

export function commandResult(node: string, exitCode: number, stdout = ''): CommandResult {
  return {
    node,
    command: 'apt-get upgrade -y',
    exitCode,
    signal: null,
    stdout,
    stderr: exitCode === 0 ? '' : 'E: Could not get lock /var/lib/dpkg/lock-frontend',
    durationMs: 12_300,
    timedOut: false,
    connectionLost: false,
  };
}

function check(
  node: string,
  status: CheckResult['status'],
  message: string,
  evidence?: unknown,
): CheckResult {
  return { check: 'node-ready', node, status, message, durationMs: 120, ...(evidence ? { evidence } : {}) };
}

/** node1 goes through cleanly; node2 fails at `patch` and the run halts. */
export function createHaltingRun(): RunEvent[] {
  const plan = createPlan();
  const events: RunEvent[] = [
    { type: 'run-start', runId: 'r-42', plan, resumed: false, mode: 'unattended', at: AT },
    { type: 'lock', action: 'acquired', owner: 'ci@runner', at: AT },
    { type: 'preflight', results: [check('node1', 'pass', 'node1 is ready')], at: AT },
  ];
  for (const [position, node] of [
    [1, 'node1'],
    [2, 'node2'],
  ] as const) {
    events.push({
      type: 'node-start',
      node,
      position,
      batch: position,
      availabilityBefore: 'active',
      at: AT,
    });
    for (const [index, stage] of STAGES.entries()) {
      const fails = node === 'node2' && stage === 'patch';
      events.push({
        type: 'stage-start',
        node,
        stage,
        kind: stage === 'patch' ? 'run' : stage,
        index,
        at: AT,
      });
      if (stage === 'patch') {
        events.push({
          type: 'output',
          node,
          stage,
          stream: 'stdout',
          line: 'Reading package lists...',
          at: AT,
        });
        events.push({
          type: 'command',
          node,
          stage,
          result: commandResult(node, fails ? 100 : 0),
          attempt: 1,
          at: AT,
        });
      }
      if (fails) {
        events.push({
          type: 'checks',
          node,
          stage,
          results: [check(node, 'fail', 'node2 is down', { state: 'down' })],
          at: AT,
        });
        events.push({
          type: 'stage-end',
          node,
          stage,
          index,
          outcome: 'failed',
          durationMs: 12_400,
          message: 'command exited with 100',
          at: AT,
        });
        events.push({
          type: 'halt',
          at: AT,
          report: {
            runId: 'r-42',
            node,
            stage,
            reason: 'command exited with 100',
            command: commandResult(node, 100),
            failedChecks: [check(node, 'fail', 'node2 is down', { state: 'down' })],
            lastOutput: ['Reading package lists...', 'E: Could not get lock /var/lib/dpkg/lock-frontend'],
            nodes: [
              { name: 'node1', availability: 'active', state: 'ready', progress: 'done' },
              { name: 'node2', availability: 'drain', state: 'down', progress: 'failed at patch' },
              { name: 'node3', availability: 'active', state: 'ready', progress: 'not started' },
            ],
            resumeCommand: 'drydock resume --run r-42',
          },
        });
        events.push({ type: 'lock', action: 'kept', owner: 'ci@runner', at: AT });
        events.push({ type: 'run-end', runId: 'r-42', outcome: 'halted', durationMs: 95_000, at: AT });
        return events;
      }
      events.push({
        type: 'checks',
        node,
        stage,
        results: [check(node, 'pass', `${node} is ready`)],
        at: AT,
      });
      events.push({ type: 'stage-end', node, stage, index, outcome: 'succeeded', durationMs: 1500, at: AT });
    }
    events.push({ type: 'node-end', node, availabilityAfter: 'active', at: AT });
  }
  return events;
}

/** Collects what a reporter writes. */
export function createSink(): { write(chunk: string): boolean; text(): string; lines(): string[] } {
  let buffer = '';
  return {
    write(chunk: string) {
      buffer += chunk;
      return true;
    },
    text: () => buffer,
    lines: () => buffer.split('\n').filter((l) => l !== ''),
  };
}
