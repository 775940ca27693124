// Benchmark: `drydock plan` on a generated 1000-node inventory, in-process and as a CLI run.
// Target: under 1 s. Run after `npm run build`:  node bench/plan-1000.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { parseInventoryFile } from '../dist/plan/inventory.js';
import { planRollout } from '../dist/plan/plan-rollout.js';
import { renderPlanText } from '../dist/report/plan-text.js';
import { parseRunbookFile } from '../dist/runbook/parse.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-'));
const inventory = join(dir, 'inventory-1000.yaml');
const nodes = [];
for (let i = 1; i <= 1000; i++) {
  const manager = i <= 5;
  nodes.push({
    hostname: `node${i}`,
    address: `10.${Math.floor(i / 250)}.${i % 250}.10`,
    role: manager ? 'manager' : 'worker',
    ...(i === 1 ? { leader: true } : {}),
    labels: { zone: i % 2 ? 'a' : 'b' },
    engineVersion: '20.10.24',
  });
}
const services = Array.from({ length: 50 }, (_, i) => ({
  name: `svc${i}`,
  mode: 'replicated',
  replicas: 3,
  ports: [{ published: 30000 + i, target: 80 }],
}));
writeFileSync(inventory, stringify({ nodes, services }));

const runbookPath = 'runbooks/rolling-patch.yaml';
const samples = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const runbook = await parseRunbookFile(runbookPath);
  const facts = await parseInventoryFile(inventory);
  const plan = planRollout(runbook, facts);
  renderPlanText(plan);
  JSON.stringify(plan);
  samples.push(performance.now() - t0);
}
samples.sort((a, b) => a - b);
const cli = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  execFileSync(
    'node',
    ['bin/drydock.js', 'plan', runbookPath, '--inventory', inventory, '--format', 'json'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  cli.push(performance.now() - t0);
}
cli.sort((a, b) => a - b);
console.log(
  `plan 1000 nodes in-process (parse+plan+render): median ${samples[5].toFixed(0)} ms, min ${samples[0].toFixed(0)} ms`,
);
console.log(
  `plan 1000 nodes as a CLI process (json): median ${cli[2].toFixed(0)} ms, min ${cli[0].toFixed(0)} ms (target < 1000 ms)`,
);
