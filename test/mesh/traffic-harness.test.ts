// The traffic harness (bench/traffic) on the mesh lab: real HAProxy in front, both demo apps, the
// naive procedure (drain, restart the engine at once, activate) on ONE worker under load. Asserts
// what the harness records and how it attributes it, never how fast anything was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { readMeshLab } from '../lab/mesh.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ClassStats {
  requests: number;
  failures: number;
  outcomes: Record<string, number>;
}
interface StageRow {
  node: string | null;
  stage: string;
  lb: [number, number];
  maintained: [number, number];
  healthy: [number, number];
}
interface AppSummary {
  app: string;
  classes: { lb: ClassStats; maintained: ClassStats; healthy: ClassStats };
  noise: Record<'noise-before' | 'noise-after', Record<'lb' | 'vm', { requests: number; failures: number }>>;
  stages: StageRow[];
}
interface Summary {
  nodes: string[];
  apps: AppSummary[];
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-traffic-test-'));

afterAll(async () => {
  // leave the lab as the other mesh tests expect it: web at 1 replica, no second app, no HAProxy
  await execa('bash', [path.join(ROOT, 'lab/mesh-haproxy.sh'), 'down'], { reject: false });
  await execa('bash', [path.join(ROOT, 'lab/mesh-apps.sh'), 'down'], { reject: false });
  await execa('bash', [path.join(ROOT, 'lab/mesh-lab.sh'), 'wait', 'vm3', '300'], { reject: false });
  fs.rmSync(out, { recursive: true, force: true });
});

describe('traffic harness', () => {
  it('naive procedure on one worker: failures attributed to that node and stage, noise measured', async () => {
    const lab = readMeshLab();
    expect(lab.nodeCount).toBeGreaterThanOrEqual(3);
    const r = await execa(
      process.execPath,
      [
        path.join(ROOT, 'bench/traffic/run-window.mjs'),
        '--procedure',
        'naive',
        '--nodes',
        'vm3',
        '--noise',
        '10',
        '--rate',
        '4',
        '--out',
        out,
        '--max-minutes',
        '10',
      ],
      { reject: false, timeout: 900_000, stderr: ['pipe', 'inherit'] },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    expect(summary.nodes).toEqual(['vm3']);
    expect(summary.apps.map((a) => a.app).sort()).toEqual(['web', 'web-graceful']);

    for (const a of summary.apps) {
      // both noise windows ran the same load, via the LB and via every VM
      for (const phase of ['noise-before', 'noise-after'] as const) {
        expect(a.noise[phase].lb.requests, `${a.app} ${phase}`).toBeGreaterThan(0);
        expect(a.noise[phase].vm.requests, `${a.app} ${phase}`).toBeGreaterThan(0);
      }
      expect(a.classes.lb.requests).toBeGreaterThan(0);
      expect(a.classes.maintained.requests).toBeGreaterThan(0);
      expect(a.classes.healthy.requests).toBeGreaterThan(0);
      // while vm3's engine restarts, its published port cannot answer, whatever the app does
      const restart = a.stages.find((s) => s.node === 'vm3' && s.stage === 'engine-restart');
      expect(restart, JSON.stringify(a.stages)).toBeDefined();
      expect(restart?.maintained[0], `${a.app}: ${JSON.stringify(restart)}`).toBeGreaterThan(0);
      // every request in the run window is attributed to vm3's maintenance or to none
      for (const s of a.stages) expect([null, 'vm3']).toContain(s.node);
      const attributed = a.stages.reduce((n, s) => n + s.lb[1] + s.maintained[1] + s.healthy[1], 0);
      expect(attributed).toBe(
        a.classes.lb.requests + a.classes.maintained.requests + a.classes.healthy.requests,
      );
    }
    // the log has one line per request with the documented fields
    const first = JSON.parse(
      fs.readFileSync(path.join(out, 'requests.jsonl'), 'utf8').split('\n')[0] ?? '{}',
    );
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(['t', 'ms', 'phase', 'app', 'path', 'outcome']),
    );
  });
});
