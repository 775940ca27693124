// A scripted run through the real interactive reporter and inquirer gate, for the tmux test:
// 3 nodes × (drain, patch, activate); node2's patch fails on its first attempt.
// Usage: node test/support/fake-run.mjs <dist dir>   (modules built from src/, see the test)
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const { createListrReporter } = await load('report/run-listr.js');
const { createInquirerGate } = await load('prompts/operator-gate.js');

const STAGES = [
  { name: 'drain', kind: 'drain' },
  { name: 'patch', kind: 'run', command: 'apt-get upgrade -y' },
  { name: 'activate', kind: 'activate' },
];
const NODES = ['node1', 'node2', 'node3'];
const RUN_ID = 'r-demo';
const RESUME = `drydock resume --run ${RUN_ID}`;

const plan = {
  formatVersion: 1,
  runbook: { name: 'rolling-patch', file: 'rolling-patch.yaml', hash: 'demo' },
  cluster: { source: 'inventory', origin: 'demo', nodes: 3, managers: 1, leader: 'node1' },
  rollout: { concurrency: 1, soakBetweenNodesMs: 0 },
  checks: { preflight: ['node-ready'], between: ['node-ready'], afterNode: [] },
  variables: [],
  batches: NODES.map((name, i) => ({ number: i + 1, role: 'worker', nodes: [name] })),
  nodes: NODES.map((name, i) => ({
    name,
    id: `id-${name}`,
    address: `10.0.0.${i + 1}`,
    role: 'worker',
    leader: false,
    availabilityBefore: 'active',
    position: i + 1,
    batch: i + 1,
    reason: 'worker',
    notes: [],
    stages: STAGES.map((s, index) =>
      s.kind === 'run'
        ? {
            kind: 'run',
            index,
            name: s.name,
            checksAfter: ['node-ready'],
            conditions: [],
            commands: [{ template: s.command, display: s.command, hasSecrets: false }],
            sudo: true,
            timeoutMs: 600000,
            retries: 0,
            retryDelayMs: 0,
          }
        : {
            kind: s.kind,
            index,
            name: s.name,
            checksAfter: ['node-ready'],
            conditions: [],
            timeoutMs: 60000,
          },
    ),
  })),
  skipped: [],
  warnings: [],
};

const reporter = createListrReporter({ stdout: process.stdout, stderr: process.stderr });
const gate = createInquirerGate({ plan, onBeforePrompt: reporter.pause, onAfterPrompt: reporter.resume });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const at = () => new Date().toISOString();
const emit = (event) => reporter.onEvent({ ...event, at: at() });
const started = Date.now();
const check = (node, status, message) => ({ check: 'node-ready', node, status, message, durationMs: 40 });

async function runStage(node, stage, index, attempt) {
  const began = Date.now();
  emit({ type: 'stage-start', node, stage: stage.name, kind: stage.kind, index });
  const fails = node === 'node2' && stage.name === 'patch' && attempt === 1;
  for (const line of ['Reading package lists...', 'Building dependency tree...', 'Calculating upgrade...']) {
    emit({ type: 'output', node, stage: stage.name, stream: 'stdout', line });
    await sleep(250);
  }
  if (fails)
    emit({
      type: 'output',
      node,
      stage: stage.name,
      stream: 'stderr',
      line: 'E: Could not get lock /var/lib/dpkg/lock-frontend',
    });
  const result = {
    node,
    command:
      stage.command ??
      `docker node update --availability ${stage.name === 'drain' ? 'drain' : 'active'} ${node}`,
    exitCode: fails ? 100 : 0,
    signal: null,
    stdout: '',
    stderr: fails ? 'E: Could not get lock /var/lib/dpkg/lock-frontend' : '',
    durationMs: Date.now() - began,
    timedOut: false,
    connectionLost: false,
  };
  emit({ type: 'command', node, stage: stage.name, result, attempt });
  if (!fails)
    emit({ type: 'checks', node, stage: stage.name, results: [check(node, 'pass', `${node} is ready`)] });
  emit({
    type: 'stage-end',
    node,
    stage: stage.name,
    index,
    outcome: fails ? 'failed' : 'succeeded',
    durationMs: Date.now() - began,
    ...(fails ? { message: 'command exited with 100' } : {}),
  });
  return fails ? result : undefined;
}

function halt(node, stage, reason, command) {
  emit({
    type: 'halt',
    report: {
      runId: RUN_ID,
      node,
      stage,
      reason,
      ...(command ? { command } : {}),
      failedChecks: [],
      lastOutput: command ? [command.stderr] : [],
      nodes: NODES.map((name) => ({
        name,
        availability: 'active',
        state: 'ready',
        progress: progress.get(name) ?? 'not started',
      })),
      resumeCommand: RESUME,
    },
  });
  emit({ type: 'lock', action: 'kept', owner: 'demo@tty' });
  emit({ type: 'run-end', runId: RUN_ID, outcome: 'halted', durationMs: Date.now() - started });
}

const progress = new Map();

async function run() {
  emit({ type: 'run-start', runId: RUN_ID, plan, resumed: false, mode: 'interactive' });
  emit({ type: 'lock', action: 'acquired', owner: 'demo@tty' });
  emit({ type: 'preflight', results: NODES.map((n) => check(n, 'pass', `${n} is ready`)) });
  await sleep(200);
  for (const [i, node] of NODES.entries()) {
    emit({ type: 'node-start', node, position: i + 1, batch: i + 1, availabilityBefore: 'active' });
    for (const [index, stage] of STAGES.entries()) {
      const decision = await gate.beforeStage(
        node,
        stage.name,
        `${stage.kind} stage ${index + 1} of ${STAGES.length}`,
      );
      if (decision === 'abort') {
        progress.set(node, `stopped before ${stage.name}`);
        halt(node, stage.name, 'aborted by the operator');
        return 1;
      }
      if (decision === 'skip') {
        emit({
          type: 'stage-end',
          node,
          stage: stage.name,
          index,
          outcome: 'skipped',
          durationMs: 0,
          message: 'by the operator',
        });
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        const failed = await runStage(node, stage, index, attempt);
        if (!failed) break;
        const answer = await gate.onFailure(node, stage.name, `exit 100: E: Could not get lock`);
        if (answer === 'retry') continue;
        if (answer === 'skip') break;
        progress.set(node, `failed at ${stage.name}`);
        halt(node, stage.name, 'command exited with 100', failed);
        return 1;
      }
      progress.set(node, `after ${stage.name}`);
    }
    progress.set(node, 'done');
    emit({ type: 'node-end', node, availabilityAfter: 'active' });
  }
  emit({ type: 'lock', action: 'released', owner: 'demo@tty' });
  emit({ type: 'run-end', runId: RUN_ID, outcome: 'succeeded', durationMs: Date.now() - started });
  return 0;
}

const code = await run();
await reporter.close();
process.exit(code);
