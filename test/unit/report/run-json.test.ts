import { describe, expect, it } from 'vitest';
import { createJsonReporter } from '../../../src/report/run-json.js';
import { createHaltingRun, createSink } from './run-events.fixture.js';

describe('createJsonReporter', () => {
  it('writes one parseable JSON object per event, in order, with the event fields unchanged', () => {
    const sink = createSink();
    const reporter = createJsonReporter({ stdout: sink });
    const events = createHaltingRun();
    for (const event of events) reporter.onEvent(event);

    const parsed = sink.lines().map((line) => JSON.parse(line));
    expect(parsed).toHaveLength(events.length);
    expect(parsed.map((e) => e.type)).toEqual(events.map((e) => e.type));
    expect(parsed).toEqual(JSON.parse(JSON.stringify(events)));
  });

  it('includes the full plan in run-start and the halt report in halt', () => {
    const sink = createSink();
    const reporter = createJsonReporter({ stdout: sink });
    for (const event of createHaltingRun()) reporter.onEvent(event);
    const parsed = sink.lines().map((line) => JSON.parse(line));

    const start = parsed.find((e) => e.type === 'run-start');
    expect(start.plan.formatVersion).toBe(1);
    expect(start.plan.nodes.map((n: { name: string }) => n.name)).toEqual(['node1', 'node2', 'node3']);
    const halt = parsed.find((e) => e.type === 'halt');
    expect(halt.report).toMatchObject({
      node: 'node2',
      stage: 'patch',
      resumeCommand: 'drydock resume --run r-42',
    });
  });

  it('survives evidence that JSON.stringify cannot handle', () => {
    const sink = createSink();
    const evidence: Record<string, unknown> = { big: 10n };
    evidence.self = evidence;
    createJsonReporter({ stdout: sink }).onEvent({
      type: 'checks',
      node: null,
      stage: null,
      results: [{ check: 'ip-route', status: 'warn', message: 'odd', evidence, durationMs: 1 }],
      at: '2024-05-01T12:00:00.000Z',
    });
    expect(JSON.parse(sink.text()).results[0].evidence).toEqual({ big: '10', self: '[circular]' });
  });
});
