import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { hashSource, parseRunbookText } from '../../../src/runbook/parse.js';
import { buildRunbookYaml, expectProblems, expectRunbook, summarize } from './helpers.js';

describe('parseRunbookText: bytes', () => {
  it('rejects an empty file', () => {
    expect(summarize(expectProblems(''))).toEqual(['1:1  file is empty'.replace('  ', ' ')]);
    expect(expectProblems('  \n\n')[0]?.message).toBe('file is empty');
  });

  it('rejects a comments-only file', () => {
    expect(expectProblems('# nothing here\n')[0]?.message).toMatch(/no content/);
  });

  it('points at the first invalid UTF-8 byte', () => {
    const bytes = Buffer.concat([
      Buffer.from('version: 1\nname: caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n'),
    ]);
    const [problem] = expectProblems(bytes as unknown as string);
    expect(problem).toMatchObject({ line: 2, column: 10 });
    expect(problem?.message).toMatch(/not valid UTF-8: byte 0xe9 at offset 20/);
  });

  it('refuses binary input with NUL bytes', () => {
    const [problem] = expectProblems(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]) as unknown as string);
    expect(problem?.message).toMatch(/binary file/);
  });

  it('refuses input over the size limit without parsing it', () => {
    const [problem] = expectProblems('a: 1\n'.repeat(10), { maxBytes: 16 });
    expect(problem?.message).toMatch(/too large \(50 bytes; the limit is 16 bytes\)/);
  });

  it('drops a UTF-8 byte order mark', () => {
    expect(expectRunbook(`\uFEFF${buildRunbookYaml()}`).runbook.name).toBe('test');
  });
});

describe('parseRunbookText: YAML', () => {
  it('reports syntax errors with line and column', () => {
    const problems = expectProblems('version: 1\nname: [a, b\nstages: []\n');
    expect(problems[0]?.message).toMatch(/^YAML syntax error: /);
    expect(problems[0]?.line).toBe(3);
  });

  it('explains tabs used for indentation', () => {
    const [problem] = expectProblems('version: 1\nname: x\nstages:\n\t- kind: drain\n');
    expect(problem).toMatchObject({ line: 4, column: 1, message: 'tab used for indentation' });
    expect(problem?.hint).toMatch(/use spaces/);
  });

  it('reports duplicate keys with the first definition', () => {
    const [problem] = expectProblems('version: 1\nname: a\nname: b\nstages: [{kind: drain}]\n');
    expect(problem).toMatchObject({
      line: 3,
      column: 1,
      message: 'duplicate key `name` (first defined on line 2)',
    });
  });

  it('stops alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const [problem] = expectProblems(`${lines.join('\n')}\n`);
    expect(problem?.message).toMatch(/too many YAML alias expansions/);
    expect(problem?.line).toBe(2);
  });

  it('allows a few aliases', () => {
    const text = buildRunbookYaml(
      '',
      'stages:\n  - kind: drain\n    timeout: &t 5m\n  - kind: activate\n    timeout: *t\n',
    );
    expect(
      expectRunbook(text).runbook.stages.map((stage) => 'timeoutMs' in stage && stage.timeoutMs),
    ).toEqual([300_000, 300_000]);
  });
});

describe('parseRunbookText: schema messages', () => {
  it('names unknown fields with a near miss', () => {
    const problems = expectProblems(buildRunbookYaml('', 'stages:\n  - kind: drain\n    timout: 5m\n'));
    expect(summarize(problems)).toContain('5:5 stages[0].timout unknown field `timout`');
    expect(problems.find((p) => p.path === 'stages[0].timout')?.hint).toBe('did you mean `timeout`?');
  });

  it('lists the allowed fields when nothing is close', () => {
    const [problem] = expectProblems(buildRunbookYaml('rollout:\n  zzzzzzz: 1\n'));
    expect(problem?.hint).toMatch(/^allowed here: concurrency, order, soakBetweenNodes, window$/);
  });

  it('lists stage kinds with a near miss', () => {
    const [problem] = expectProblems(buildRunbookYaml('', 'stages:\n  - kind: rebot\n'));
    expect(problem).toMatchObject({
      path: 'stages[0].kind',
      message: 'unknown stage kind `rebot`',
      line: 4,
      column: 11,
    });
    expect(problem?.hint).toMatch(/did you mean `reboot`\? valid stage kinds: drain, run, reboot/);
  });

  it('explains durations', () => {
    const problems = expectProblems(
      buildRunbookYaml('', 'stages:\n  - kind: drain\n    timeout: ten minutes\n'),
    );
    const problem = problems.find((p) => p.path === 'stages[0].timeout');
    expect(problem?.message).toBe('expected a duration like 30s, 10m, 1h30m or 500ms, got `ten minutes`');
    // Reported in the same pass: the rules ran on the rest of the runbook.
    expect(problems.map((p) => p.message)).toContain('the node is drained and never re-activated');
  });

  it('reports schema problems and cross-reference problems in one pass', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'rollout:\n  concurrency: two\n',
        'stages:\n  - { kind: drain, name: drain, timeout: soon }\n  - { kind: run, name: patch, commands: ["echo ${nope}"], sudo: maybe }\n  - { kind: activate, name: patch }\n',
      ),
    );
    const paths = problems.map((p) => p.path);
    // Three schema problems and two rule problems (an unknown variable, a duplicate stage name).
    expect(paths).toEqual(
      expect.arrayContaining(['rollout.concurrency', 'stages[0].timeout', 'stages[1].sudo']),
    );
    expect(problems.map((p) => p.message).join('\n')).toMatch(/nope/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/patch/);
  });

  it('explains wrong types', () => {
    const [problem] = expectProblems(buildRunbookYaml('rollout:\n  concurrency: two\n'));
    expect(summarize([problem!])).toEqual(['4:16 rollout.concurrency expected a number, got `two`']);
  });

  it('names a missing required field and where', () => {
    const [problem] = expectProblems(buildRunbookYaml('', 'stages:\n  - kind: run\n    sudo: true\n'));
    expect(problem).toMatchObject({
      path: 'stages[0].commands',
      message: 'missing required field `commands` in this run stage',
      line: 4,
    });
  });

  it('gives a near miss for unknown checks', () => {
    const [problem] = expectProblems(buildRunbookYaml('checks:\n  between: [node-redy]\n'));
    expect(problem).toMatchObject({ path: 'checks.between[0]', message: 'unknown check `node-redy`' });
    expect(problem?.hint).toBe('did you mean `node-ready`?');
  });

  it('calls unknown check option keys checks', () => {
    const [problem] = expectProblems(buildRunbookYaml('checks:\n  options:\n    ip-rout: {}\n'));
    expect(problem).toMatchObject({ message: 'unknown check `ip-rout`', hint: 'did you mean `ip-route`?' });
  });

  it('rejects other versions', () => {
    const [problem] = expectProblems('version: 2\nname: x\nstages: [{kind: drain}]\n');
    expect(problem).toMatchObject({ path: 'version', message: 'unsupported runbook version `2`' });
  });

  it('names missing literal and enum fields', () => {
    const problems = expectProblems('name: x\nstages: [{kind: drain}]\n');
    expect(problems.map((p) => `${p.path} ${p.message}`)).toEqual([
      'version missing required field `version`',
    ]);
  });

  it('reports every schema problem at once', () => {
    const problems = expectProblems(
      buildRunbookYaml(
        'rollout:\n  concurrency: two\n',
        'stages:\n  - kind: rebot\n  - kind: drain\n    timout: 1s\n',
      ),
    );
    expect(problems.map((p) => p.path)).toEqual([
      'rollout.concurrency',
      'stages[0].kind',
      'stages[1].timout',
    ]);
  });
});

describe('parseRunbookText: result', () => {
  it('throws InvalidInputError carrying every problem', () => {
    expect.assertions(2);
    try {
      parseRunbookText('version: 2\nname: x\nstages: []\n', 'rb.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).problems.length).toBe(2);
    }
  });

  it('hashes the bytes', () => {
    const text = buildRunbookYaml();
    expect(parseRunbookText(text, 'rb.yaml').hash).toBe(hashSource(Buffer.from(text)));
    expect(hashSource(text)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('returns warnings alongside a valid runbook', () => {
    const { warnings } = expectRunbook(buildRunbookYaml('checks:\n  options:\n    clock-skew: {max: 1s}\n'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ severity: 'warning', path: 'checks.options.clock-skew' });
  });
});
