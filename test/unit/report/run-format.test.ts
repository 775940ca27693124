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
});
