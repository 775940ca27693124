import { describe, expect, it } from 'vitest';
import { buildRunbookYaml, expectProblems, expectRunbook, summarize } from './helpers.js';

const twoStages = (first: string) => `stages:\n${first}  - kind: drain\n  - kind: activate\n`;

describe('rules', () => {
  it('finds unknown variables in commands, the reboot command and engine-version expected', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'variables:\n  docker_version: "1"\nchecks:\n  options:\n    engine-version: {expected: "v${engine}"}\n  afterNode: [engine-version]\n',
        'stages:\n  - kind: drain\n  - kind: run\n    commands: ["apt-get install docker.io=${dokcer_version}"]\n  - kind: reboot\n    command: "shutdown -r ${when}"\n  - kind: activate\n',
      ),
    );
    expect(summarize(problems)).toEqual([
      '7:34 checks.options.engine-version.expected unknown variable `${engine}`',
      '12:43 stages[1].commands[0] unknown variable `${dokcer_version}`',
      '14:27 stages[2].command unknown variable `${when}`',
    ]);
    expect(problems[1]?.hint).toBe('did you mean `${docker_version}`?');
  });

  it('rejects malformed references', () => {
    const [problem] = expectProblems(
      buildRunbookYaml('', twoStages('  - kind: run\n    commands: ["echo ${a b}"]\n')),
    );
    expect(problem?.message).toMatch(/is not a variable reference/);
  });

  it('rejects secrets outside shell commands', () => {
    const [problem] = expectProblems(
      buildRunbookYaml(
        'variables:\n  v: {env: V, secret: true}\nchecks:\n  afterNode: [engine-version]\n  options:\n    engine-version: {expected: "${v}"}\n',
      ),
    );
    expect(problem?.message).toBe('secret variable `v` used outside a shell command');
  });

  it('accepts secrets in commands', () => {
    expectRunbook(
      buildRunbookYaml(
        'variables:\n  v: {env: V, secret: true}\n',
        twoStages('  - kind: run\n    commands: ["login ${v}"]\n'),
      ),
    );
  });

  it('checks variable sources', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'variables:\n  a: {value: x, env: A}\n  b: {secret: true}\n  c: {value: x, default: y}\n',
      ),
    );
    expect(problems.map((p) => p.message)).toEqual([
      'variable `a` sets both `value` and `env`',
      'variable `b` needs a `value` or an `env`',
      '`default` only applies with `env`',
    ]);
  });

  it('warns when YAML turned a version into a different number', () => {
    const { warnings, runbook } = expectRunbook(
      buildRunbookYaml('variables:\n  a: 20.10\n  b: {value: 1.50}\n  c: 3\n  d: "20.10"\n'),
    );
    expect(warnings.map((w) => `${w.path} ${w.message}`)).toEqual([
      'variables.a `20.10` is read as the number 20.1',
      'variables.b.value `1.50` is read as the number 1.5',
    ]);
    expect(runbook.variables.map((v) => v.value)).toEqual(['20.1', '1.5', '3', '20.10']);
  });

  it('rejects duplicate stage names', () => {
    const [problem] = expectProblems(
      buildRunbookYaml(
        '',
        twoStages(
          '  - kind: pause\n    name: soak\n    duration: 1s\n  - kind: pause\n    name: soak\n    duration: 1s\n',
        ),
      ),
    );
    expect(summarize([problem!])).toEqual([
      '8:11 stages[1].name duplicate stage name `soak` (also stages[0])',
    ]);
  });

  it('requires a drain before activate, warns about drain without activate and reboot without drain', () => {
    const [problem] = expectProblems(buildRunbookYaml('', 'stages:\n  - kind: activate\n'));
    expect(problem).toMatchObject({
      path: 'stages[0].kind',
      message: '`activate` stage without a `drain` stage before it',
    });
    const { warnings } = expectRunbook(buildRunbookYaml('', 'stages:\n  - kind: reboot\n  - kind: drain\n'));
    expect(warnings.map((w) => w.message)).toEqual([
      'reboot without draining the node first',
      'the node is drained and never re-activated',
    ]);
  });

  it('rejects duplicates in rollout.order', () => {
    const [problem] = expectProblems(buildRunbookYaml('rollout:\n  order: [a, b, a]\n'));
    expect(problem).toMatchObject({ path: 'rollout.order[2]', line: 4, column: 17 });
  });

  it('checks the window', () => {
    expect(
      expectProblems(
        buildRunbookYaml(
          'rollout:\n  window: {start: "2025-03-02T00:00:00Z", end: "2025-03-01T00:00:00Z"}\n',
        ),
      )[0]?.message,
    ).toBe('the window ends before it starts');
    expect(expectProblems(buildRunbookYaml('rollout:\n  window: {start: tonight}\n'))[0]?.message).toBe(
      'expected an ISO 8601 date-time, got `tonight`',
    );
  });

  it('says what is wrong with an impossible window date instead of "ends before it starts"', () => {
    const problems = expectProblems(
      buildRunbookYaml('rollout:\n  window: {start: "2026-02-30T22:00:00Z", end: "2026-03-01T02:00:00Z"}\n'),
    );
    expect(summarize(problems)).toEqual([
      '4:19 rollout.window.start `2026-02-30T22:00:00Z` is not a date: February 2026 has 28 days',
    ]);
    expect(
      expectProblems(buildRunbookYaml('rollout:\n  window: {end: "2026-13-01T02:00:00Z"}\n'))[0]?.message,
    ).toBe('`2026-13-01T02:00:00Z` is not a date: there is no month 13');
    expect(
      expectProblems(buildRunbookYaml('rollout:\n  window: {end: "2026-03-01T25:00:00Z"}\n'))[0]?.message,
    ).toBe('`2026-03-01T25:00:00Z` is not a time of day');
  });

  it("requires an explicit time zone on window times (never the operator's local time)", () => {
    const [problem] = expectProblems(buildRunbookYaml('rollout:\n  window: {start: "2026-11-28T22:00"}\n'));
    expect(problem?.message).toBe(
      "`2026-11-28T22:00` has no time zone: drydock does not guess the operator's local time",
    );
    expect(problem?.hint).toMatch(/2026-11-28T22:00Z for UTC, or an offset such as 2026-11-28T22:00\+01:00/);
    expect(
      expectProblems(buildRunbookYaml('rollout:\n  window: {start: "2026-11-28"}\n'))[0]?.message,
    ).toMatch(/has no time and zone/);
    const { runbook } = expectRunbook(
      buildRunbookYaml('rollout:\n  window: {start: "2026-11-28T23:00:00+01:00"}\n'),
    );
    expect(runbook.rollout.window?.start?.toISOString()).toBe('2026-11-28T22:00:00.000Z');
  });

  it.each([
    [
      '1e308',
      'stages:\n  - kind: drain\n    timeout: 1e308\n  - kind: activate\n',
      /"?1e\+?308"? is too long: at most 168h \(7 days\)/,
    ],
    ['600h', 'stages:\n  - kind: pause\n    duration: 600h\n', /"600h" is too long: at most 168h/],
    [
      '0s',
      'stages:\n  - kind: drain\n    timeout: 0s\n  - kind: activate\n',
      /"0s" is zero: give a positive duration/,
    ],
  ])('bounds every duration (%s), with a located message', (_what, stages, message) => {
    const problems = expectProblems(buildRunbookYaml('', stages));
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
    expect(problems[0]?.line).toBeGreaterThan(1);
  });

  it('accepts 0 where it means none (soak, retry delay)', () => {
    const { runbook } = expectRunbook(
      buildRunbookYaml(
        'rollout: { soakBetweenNodes: 0s }\n',
        'stages:\n  - kind: run\n    retryDelay: 0\n    commands: ["true"]\n',
      ),
    );
    expect(runbook.rollout.soakBetweenNodesMs).toBe(0);
  });

  it('warns about options for checks that never run', () => {
    const { warnings } = expectRunbook(
      buildRunbookYaml('checks:\n  options:\n    overlay-dns: {services: [web]}\n'),
    );
    expect(summarize(warnings)).toEqual([
      '5:5 checks.options.overlay-dns options for `overlay-dns`, which never runs',
    ]);
  });

  it('counts checks stages as running a check', () => {
    const { warnings } = expectRunbook(
      buildRunbookYaml(
        'checks:\n  options:\n    overlay-dns: {services: [web]}\n',
        twoStages('  - kind: checks\n    run: [overlay-dns]\n'),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it('requires a host for docker via tcp', () => {
    expect(expectProblems(buildRunbookYaml('connection:\n  docker: {via: tcp}\n'))[0]?.message).toMatch(
      /needs `host`/,
    );
  });

  it('refuses a reference where no quoting keeps it literal, located at the reference', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'variables:\n  v: x\n',
        twoStages(
          [
            '  - kind: run',
            '    commands:',
            '      - echo "$(cat ${v})"',
            '      - echo `cat ${v}`',
            '      - "echo ok # ${v}"',
            '      - "cat <<EOF\\n${v}\\nEOF"',
            '  - kind: reboot',
            '    command: shutdown -r $((${v} + 1))',
            '',
          ].join('\n'),
        ),
      ),
    );
    expect(summarize(problems)).toEqual([
      '8:21 stages[0].commands[0] `${v}` inside a command substitution `$(…)`: drydock cannot quote a value there',
      '9:19 stages[0].commands[1] `${v}` inside backticks `…`: drydock cannot quote a value there',
      '10:20 stages[0].commands[2] `${v}` inside a shell comment: drydock cannot quote a value there',
      '11:9 stages[0].commands[3] `${v}` inside a here-document: drydock cannot quote a value there',
      '12:11 stages[1].kind reboot without draining the node first',
      '13:29 stages[1].command `${v}` inside an arithmetic expansion `$((…))`: drydock cannot quote a value there',
    ]);
    expect(problems[0]?.hint).toBe(
      'set a shell variable first and use it quoted inside: `v=${v}; echo "$(cat "$v")"`',
    );
  });

  it("accepts references inside the command's own double and single quotes", () => {
    expectRunbook(
      buildRunbookYaml(
        'variables:\n  v: x\n',
        twoStages(`  - kind: run\n    commands: ["echo \\"\${v}\\" '\${v}' \${v}"]\n`),
      ),
    );
  });

  it('never prints a secret in the number warning', () => {
    const { warnings } = expectRunbook(
      buildRunbookYaml('variables:\n  pin: {value: 0x1F2E, secret: true}\n  plain: 0x1F2E\n'),
    );
    expect(summarize(warnings)).toEqual([
      '4:16 variables.pin.value secret `pin` is read as a number, which changes how it is written',
      '5:10 variables.plain `0x1F2E` is read as the number 7982',
    ]);
    expect(JSON.stringify(warnings.slice(0, 1))).not.toMatch(/1F2E|7982/i);
  });

  it('refuses secrets too short to mask, without printing them', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'variables:\n  a: {value: "ab", secret: true}\n  b: {env: B, default: "7", secret: true}\n  c: {value: abc, secret: true}\n  d: {value: "ab"}\n',
      ),
    );
    expect(summarize(problems)).toEqual([
      '4:14 variables.a.value secret `a` is shorter than 3 characters',
      '5:24 variables.b.default secret `b` is shorter than 3 characters',
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/"ab"|`ab`|`7`/);
  });
});
