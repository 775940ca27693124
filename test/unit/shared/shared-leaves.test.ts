import { afterEach, describe, expect, it, vi } from 'vitest';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { createReporter } from '../../../src/report/reporters.js';
import { MAX_TIMER_MS, systemClock } from '../../../src/shared/clock.js';
import { escapeControl } from '../../../src/shared/escape-control.js';
import { manager, node } from '../../support/fake-swarm.js';
import { cluster, FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

describe('systemClock.sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the whole of a duration beyond the 2^31 ms timer limit (Node would fire it at once)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let done = false;
    const wait = systemClock.sleep(MAX_TIMER_MS + 10_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(9_000);
    await wait;
    expect(done).toBe(true);
  });

  it('still ends a long wait at once on abort', async () => {
    const abort = new AbortController();
    const wait = systemClock.sleep(MAX_TIMER_MS * 3, abort.signal);
    abort.abort();
    await expect(wait).resolves.toBeUndefined();
  });
});

describe('escapeControl', () => {
  it('shows ESC, C1 and bidi overrides as visible escapes, keeping newlines and tabs', () => {
    expect(escapeControl('node\u001b[2J\u001b]0;pwned\u0007-1')).toBe('node\\x1b[2J\\x1b]0;pwned\\x07-1');
    expect(escapeControl('evil\u202egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(escapeControl('a\tb\nc\r\u009b')).toBe('a\tb\nc\\x0d\\x9b');
    expect(escapeControl('nœud-2 → ok')).toBe('nœud-2 → ok');
  });

  it('is applied to the plan text and to every text reporter, not to JSON', () => {
    const hostile = 'w1\u001b[31m\u202e';
    const plan = planRollout(runbookFrom(FIVE_STAGES), cluster([manager('m1', true), node(hostile)]));
    const text = renderPlanText(plan);
    expect(text).not.toMatch(/[\u001b\u202e]/);
    expect(text).toContain('w1\\x1b[31m\\u202e');

    let simple = '';
    const reporter = createReporter('simple', {
      stdout: (t) => (simple += t),
      stderr: () => {},
      isTTY: false,
    });
    const at = '2026-11-28T22:00:00.000Z';
    reporter.onEvent({
      type: 'node-start',
      node: hostile,
      position: 1,
      batch: 1,
      availabilityBefore: 'active',
      at,
    });
    reporter.onEvent({
      type: 'output',
      node: hostile,
      stage: 'patch',
      stream: 'stdout',
      line: 'x\u001b[2Jy',
      at,
    });
    expect(simple).not.toMatch(/[\u001b\u202e]/);
    expect(simple).toContain('w1\\x1b[31m\\u202e');

    let json = '';
    const raw = createReporter('json', { stdout: (t) => (json += t), stderr: () => {}, isTTY: false });
    raw.onEvent({ type: 'activated', node: hostile, at });
    expect(JSON.parse(json).node).toBe(hostile);
  });
});
