import { describe, expect, it } from 'vitest';
import { nameStages } from '../../../src/runbook/normalize.js';
import { parseDuration } from '../../../src/shared/parse-duration.js';
import { buildRunbookYaml, expectRunbook } from './helpers.js';

describe('parseDuration', () => {
  it.each([
    [30, 30_000],
    [0.5, 500],
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2m30s', 150_000],
  ])('%j → %i ms', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });

  it('rejects what is not a duration', () => {
    expect(() => parseDuration('ten minutes')).toThrow(RangeError);
    expect(() => parseDuration('5 m')).toThrow(RangeError);
  });
});

describe('nameStages', () => {
  it('defaults to the kind and suffixes repeats around explicit names', () => {
    expect(
      nameStages([
        { kind: 'run' },
        { kind: 'run' },
        { kind: 'run', name: 'run-3' },
        { kind: 'run' },
        { kind: 'drain', name: 'drain' },
      ]),
    ).toEqual(['run', 'run-2', 'run-3', 'run-4', 'drain']);
  });
});

describe('normalizeRunbook', () => {
  it('applies defaults', () => {
    const { runbook } = expectRunbook(buildRunbookYaml());
    expect(runbook.rollout).toEqual({ concurrency: 1, soakBetweenNodesMs: 0 });
    expect(runbook.connection.ssh).toMatchObject({
      user: 'root',
      port: 22,
      connectTimeoutMs: 10_000,
      sudo: false,
    });
    expect(runbook.checks.preflight).toEqual(runbook.checks.afterNode);
    expect(runbook.checks.options['services-converged']).toEqual({
      timeoutMs: 600_000,
      remediate: false,
      ignore: [],
    });
    expect(runbook.checks.options['clock-skew']).toEqual({ maxMs: 2000 });
    expect(runbook.stages.map((stage) => stage.name)).toEqual(['drain', 'activate']);
  });

  it('inherits sudo from the connection and converts durations', () => {
    const { runbook } = expectRunbook(
      buildRunbookYaml(
        'connection:\n  ssh:\n    sudo: true\n',
        'stages:\n  - kind: run\n    commands: [a]\n    timeout: 1h30m\n  - kind: run\n    sudo: false\n    commands: [b]\n    retryDelay: 2\n',
      ),
    );
    expect(runbook.stages).toMatchObject([
      { name: 'run', sudo: true, timeoutMs: 5_400_000 },
      { name: 'run-2', sudo: false, retryDelayMs: 2000 },
    ]);
  });

  it('resolves variables from literals and the injected environment', () => {
    const { runbook } = expectRunbook(
      buildRunbookYaml(
        [
          'variables:',
          '  s: text',
          '  n: 3',
          '  b: true',
          '  from_env: {env: DRYDOCK_TEST_A}',
          '  with_default: {env: DRYDOCK_TEST_B, default: fallback}',
          '  missing: {env: DRYDOCK_TEST_C}',
          '  token: {env: TOKEN, secret: true}',
          '  fixed_secret: {value: hunter2, secret: true}',
          '',
        ].join('\n'),
      ),
      { env: { DRYDOCK_TEST_A: 'a', TOKEN: 't0k' } },
    );
    expect(runbook.variables).toEqual([
      { name: 's', value: 'text', secret: false, source: { type: 'literal' } },
      { name: 'n', value: '3', secret: false, source: { type: 'literal' } },
      { name: 'b', value: 'true', secret: false, source: { type: 'literal' } },
      {
        name: 'from_env',
        value: 'a',
        secret: false,
        source: { type: 'env', env: 'DRYDOCK_TEST_A', usedDefault: false },
      },
      {
        name: 'with_default',
        value: 'fallback',
        secret: false,
        source: { type: 'env', env: 'DRYDOCK_TEST_B', usedDefault: true },
      },
      {
        name: 'missing',
        value: undefined,
        secret: false,
        source: { type: 'env', env: 'DRYDOCK_TEST_C', usedDefault: false },
      },
      {
        name: 'token',
        value: 't0k',
        secret: true,
        source: { type: 'env', env: 'TOKEN', usedDefault: false },
      },
      { name: 'fixed_secret', value: 'hunter2', secret: true, source: { type: 'literal' } },
    ]);
  });

  it('parses the window', () => {
    const { runbook } = expectRunbook(
      buildRunbookYaml(
        'rollout:\n  window:\n    start: 2025-03-01T22:00:00Z\n    end: "2025-03-02T02:00:00Z"\n',
      ),
    );
    expect(runbook.rollout.window?.start?.toISOString()).toBe('2025-03-01T22:00:00.000Z');
    expect(runbook.rollout.window?.end?.toISOString()).toBe('2025-03-02T02:00:00.000Z');
  });
});
