// Benchmark: the HTML (and Markdown) report of a synthetic 100-node journal, in-process.
// Target: under 1 s. Run after `npm run build`:  node bench/report-100-nodes.mjs
import { performance } from 'node:perf_hooks';
import { buildRunModel } from '../dist/report/run-report/model.js';
import { renderRunHtml } from '../dist/report/run-report/render-html.js';
import { renderRunMarkdown } from '../dist/report/run-report/render-markdown.js';

const NODES = 100;
const STAGES = [
  ['drain', 'drain'],
  ['patch', 'run'],
  ['upgrade', 'run'],
  ['reboot', 'reboot'],
  ['rejoin', 'activate'],
  ['verify', 'checks'],
];
const runId = '20240501-120000-bnch';
let now = Date.parse('2024-05-01T12:00:00Z');
const lines = [];
const emit = (event, afterMs = 1000) => {
  now += afterMs;
  lines.push({ seq: lines.length, ...event, at: new Date(now).toISOString() });
};
lines.push({
  seq: 0,
  type: 'journal-header',
  formatVersion: 1,
  runId,
  runbookFile: 'runbooks/rolling-patch.yaml',
  runbookHash: 'ab'.repeat(32),
  startedAt: new Date(now).toISOString(),
  connection: {},
  user: 'ops@bench',
  host: 'bench',
});
const names = Array.from({ length: NODES }, (_, i) => `node${String(i + 1).padStart(3, '0')}`);
const plan = {
  formatVersion: 1,
  runbook: { name: 'rolling-patch', file: 'runbooks/rolling-patch.yaml', hash: 'ab'.repeat(32) },
  cluster: { source: 'docker', origin: 'bench', nodes: NODES, managers: 3, leader: names[0] },
  rollout: { concurrency: 1, soakBetweenNodesMs: 10_000 },
  checks: { preflight: [], between: ['node-ready'], afterNode: ['node-ready', 'ip-route'] },
  variables: [],
  batches: [],
  nodes: names.map((name, i) => ({
    name,
    id: name,
    address: `10.0.${i >> 8}.${i & 255}`,
    role: i < 3 ? 'manager' : 'worker',
    leader: i === 0,
    availabilityBefore: 'active',
    position: i + 1,
    batch: i + 1,
    reason: '',
    notes: [],
    stages: [],
  })),
  skipped: [],
  warnings: [],
};
emit({ type: 'run-start', runId, plan, resumed: false, mode: 'unattended' }, 0);
for (const [i, node] of names.entries()) {
  emit({ type: 'node-start', node, position: i + 1, batch: i + 1, availabilityBefore: 'active' });
  for (const [index, [stage, kind]] of STAGES.entries()) {
    emit({ type: 'stage-start', node, stage, kind, index });
    for (let l = 0; l < 20; l++)
      emit({ type: 'output', node, stage, stream: 'stdout', line: `line ${l} of ${stage}` }, 100);
    if (kind === 'run') {
      emit(
        {
          type: 'command',
          node,
          stage,
          attempt: 1,
          result: {
            node,
            command: `apt-get -y ${stage}`,
            exitCode: 0,
            signal: null,
            stdout: 'ok\n',
            stderr: '',
            durationMs: 5000,
            timedOut: false,
            connectionLost: false,
          },
        },
        5000,
      );
    }
    if (kind === 'reboot')
      emit({ type: 'rebooted', node, bootIdBefore: 'a', bootIdAfter: 'b', downMs: 20_000 }, 25_000);
    emit({
      type: 'checks',
      node,
      stage,
      results: [{ check: 'node-ready', node, status: 'pass', message: 'ready', durationMs: 50 }],
    });
    emit({ type: 'stage-end', node, stage, index, outcome: 'succeeded', durationMs: 7000 });
  }
  emit({ type: 'node-end', node, availabilityAfter: 'active' });
  now += 10_000;
}
emit({ type: 'run-end', runId, outcome: 'succeeded', durationMs: now - Date.parse('2024-05-01T12:00:00Z') });

const t0 = performance.now();
const model = buildRunModel(lines);
const html = renderRunHtml(model);
const md = renderRunMarkdown(model);
const ms = performance.now() - t0;
console.log(
  `report of ${NODES} nodes (${lines.length} journal lines): ${ms.toFixed(0)} ms → HTML ${(html.length / 1024).toFixed(0)} KiB, Markdown ${md.split('\n').length} lines (target < 1000 ms)`,
);
