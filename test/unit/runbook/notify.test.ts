import { describe, expect, it } from 'vitest';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { buildRunbookYaml, expectProblems, expectRunbook, summarize } from './helpers.js';

const URL = 'https://hooks.example.com/services/T0/B0/secret-token';

describe('runbook notify section', () => {
  it('resolves ${env:…} and ${variable}, applies defaults, and shows the host only', () => {
    const { runbook } = expectRunbook(
      buildRunbookYaml(
        'variables:\n  hook: { env: OTHER_HOOK, secret: true }\nnotify:\n  - url: ${env:SLACK_URL}\n    format: slack\n  - url: ${hook}\n    events: [halt]\n    required: true\n',
      ),
      { env: { SLACK_URL: URL, OTHER_HOOK: 'http://10.0.0.5:8080/x' } },
    );
    expect(runbook.notify).toEqual([
      {
        url: URL,
        host: 'hooks.example.com',
        format: 'slack',
        events: ['run-start', 'halt', 'run-end'],
        required: false,
        timeoutMs: 5000,
        retries: 3,
      },
      {
        url: 'http://10.0.0.5:8080/x',
        host: '10.0.0.5:8080',
        format: 'json',
        events: ['halt'],
        required: true,
        timeoutMs: 5000,
        retries: 3,
      },
    ]);
    const plan = planRollout(runbook, { source: 'inventory', origin: 'x', nodes: [], services: [] });
    const text = renderPlanText(plan);
    expect(text).toContain('notify: slack webhook at hooks.example.com on run-start, halt, run-end');
    expect(text).toContain('notify: json webhook at 10.0.0.5:8080 on halt (required');
    expect(JSON.stringify(plan)).not.toContain('secret-token');
  });

  it('an unset environment variable leaves the URL empty and says which', () => {
    const { runbook } = expectRunbook(buildRunbookYaml('notify:\n  - url: ${env:SLACK_URL}\n'));
    expect(runbook.notify[0]).toMatchObject({ url: undefined, host: '<unset: $SLACK_URL>' });
  });

  it('validate reports an undeclared variable, a non-URL and an unknown event, never the URL', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'notify:\n  - url: ${nope}\n  - url: ftp-secret-thing\n  - url: ${env:X}\n    events: [halted]\n',
      ),
    );
    const lines = summarize(problems).join('\n');
    expect(lines).toContain('notify[2].events[0]');
    expect(lines).not.toContain('ftp-secret-thing');
    const rules = summarize(
      expectProblems(buildRunbookYaml('notify:\n  - url: ${nope}\n  - url: ftp-secret-thing\n')),
    ).join('\n');
    expect(rules).toContain('notify[0].url `${nope}` is not a declared variable');
    expect(rules).toContain('notify[1].url not an http(s) URL');
  });
});
