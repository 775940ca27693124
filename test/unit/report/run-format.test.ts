import { describe, expect, it } from 'vitest';
import type { HaltReport } from '../../../src/executor/events.js';
import { formatHaltReport, formatWhere } from '../../../src/report/run-format.js';

const report = (node: string, stage: string): HaltReport => ({
  runId: 'r-1',
  node,
  stage,
  reason: 'node-ready failed',
  failedChecks: [],
  lastOutput: [],
  nodes: [],
  resumeCommand: 'drydock resume --run r-1',
});

describe('formatHaltReport', () => {
  it('names node and stage, and just the stage when the run stopped before any node', () => {
    expect(formatHaltReport(report('node2', 'patch'))[0]).toBe('HALT  run r-1 stopped at node2 › patch');
    expect(formatHaltReport(report('', 'pre-flight'))[0]).toBe('HALT  run r-1 stopped at pre-flight');
    expect(formatWhere(null, null)).toBe('');
  });

  it('gives a failed check its evidence and, when the check knows one, its fix', () => {
    const lines = formatHaltReport({
      ...report('node2', 'engine-back'),
      failedChecks: [
        {
          check: 'ingress-mesh',
          node: 'node2',
          status: 'fail',
          message: 'ingress_sbox missing',
          evidence: { missingRules: ['8080/tcp (web)'] },
          hint: 'stop the engine, delete the leftover vx-* links',
          durationMs: 1000,
        },
        { check: 'ip-route', node: 'node2', status: 'fail', message: 'no default route', durationMs: 5 },
      ],
    });
    const at = lines.indexOf('failed checks:');
    expect(lines.slice(at + 1, at + 5)).toEqual([
      '  FAIL ingress-mesh node2: ingress_sbox missing (1s)',
      '    evidence: {"missingRules":["8080/tcp (web)"]}',
      '    fix: stop the engine, delete the leftover vx-* links',
      '  FAIL ip-route node2: no default route (5ms)',
    ]);
  });
});
