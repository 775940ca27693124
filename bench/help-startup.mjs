// Benchmark: `drydock --help` start-up time as a process. Target: under 300 ms.
// Run after `npm run build`:  node bench/help-startup.mjs
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const runs = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  execFileSync('node', ['bin/drydock.js', '--help'], { stdio: 'ignore' });
  runs.push(performance.now() - t0);
}
const bare = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  execFileSync('node', ['-e', '0'], { stdio: 'ignore' });
  bare.push(performance.now() - t0);
}
runs.sort((a, b) => a - b);
bare.sort((a, b) => a - b);
console.log(
  `drydock --help: median ${runs[7].toFixed(0)} ms, min ${runs[0].toFixed(0)} ms (target < 300 ms; bare node -e 0: median ${bare[7].toFixed(0)} ms)`,
);
