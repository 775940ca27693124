import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCommand, type SubstitutionScope } from '../../../src/runbook/substitute.js';
import type { Runbook } from '../../../src/runbook/types.js';
import { buildRunbookYaml, expectRunbook } from './helpers.js';

/**
 * Hostile values through `${…}` in the places a template may put them, executed by real POSIX
 * shells: the output must be the value, byte for byte, and no command in it may run (each
 * tries to create the file `pwned` in the shell's working directory).
 */

const HOSTILE = [
  '$(touch pwned)',
  '`touch pwned`',
  "'",
  '"',
  '\\',
  'a\nb',
  ';touch pwned',
  "'; touch pwned; '",
  '"; touch pwned; "',
  '\\"$(touch pwned)\\"',
  "'\\''$(touch pwned)'\\''",
  '"\'"\'$(touch pwned)',
  '$HOME ${HOME} $((1+1))',
  '!! !$ !-1',
  'trailing\\',
  '',
  ' lead and trail ',
  '*',
  '~',
  '# not a comment',
];

/** Templates and what they print for a value `v` (`$` is the reference). */
const SHAPES: { template: (ref: string) => string; expect: (v: string) => string }[] = [
  { template: (ref) => `printf '%s' ${ref}`, expect: (v) => v },
  { template: (ref) => `printf '%s' "${ref}"`, expect: (v) => v },
  { template: (ref) => `printf '%s' '${ref}'`, expect: (v) => v },
  { template: (ref) => `printf '%s' "<${ref}>"`, expect: (v) => `<${v}>` },
  { template: (ref) => `printf '%s' 'a'${ref}"b"`, expect: (v) => `a${v}b` },
  { template: (ref) => `printf '%s|' "${ref}" '${ref}' ${ref}`, expect: (v) => `${v}|${v}|${v}|` },
  { template: (ref) => `printf '%s' "$(printf x)${ref}"`, expect: (v) => `x${v}` },
];

/** Three real implementations: dash (Debian's sh), bash, busybox ash. */
const SHELLS = ['dash', 'bash', 'busybox'].filter((shell) => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

const work = mkdtempSync(join(tmpdir(), 'drydock-inject-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command under a shell in a fresh directory: its stdout, and whether `pwned` appeared. */
function runUnder(shell: string, command: string): { stdout: string; pwned: boolean } {
  const cwd = mkdtempSync(join(work, 'run-'));
  const args = shell === 'busybox' ? ['sh', '-c', command] : ['-c', command];
  const stdout = execFileSync(shell, args, { cwd, encoding: 'utf8' });
  return { stdout, pwned: existsSync(join(cwd, 'pwned')) };
}

/** A runbook whose commands hold every shape, its variables `v` (literal) and `e` (from $DD_E). */
function parseHostile(value: string, ref: string): Runbook {
  const commands = SHAPES.map((shape) => JSON.stringify(shape.template(ref))).join(', ');
  return expectRunbook(
    buildRunbookYaml(
      `variables:\n  v: ${JSON.stringify(value)}\n  e: {env: DD_E}\n`,
      `stages:\n  - kind: run\n    commands: [${commands}]\n`,
    ),
    { env: { DD_E: value } },
  ).runbook;
}

const SOURCES: {
  name: string;
  ref: string;
  scope: (value: string, runbook: Runbook) => SubstitutionScope;
}[] = [
  {
    name: 'a runbook variable',
    ref: '${v}',
    scope: (_value, runbook) => ({ variables: runbook.variables, runbook: { name: runbook.name } }),
  },
  {
    name: 'an environment variable',
    ref: '${e}',
    scope: (_value, runbook) => ({ variables: runbook.variables, runbook: { name: runbook.name } }),
  },
  {
    name: 'a cluster fact (node name)',
    ref: '${node.name}',
    scope: (value, runbook) => ({
      variables: runbook.variables,
      node: { hostname: value, address: '10.0.0.1', role: 'worker' },
      runbook: { name: runbook.name },
    }),
  },
];

describe.each(SOURCES)('hostile values from $name', ({ ref, scope }) => {
  it('stay literal in every place, under every shell, and run nothing', () => {
    // One shell per source: every value in every shape, each output followed by a separator.
    const commands = HOSTILE.flatMap((value) => {
      const runbook = parseHostile(value, ref);
      const stage = runbook.stages[0];
      if (stage?.kind !== 'run') throw new Error('expected the run stage');
      return stage.commands.map(
        (template) => renderCommand(template, scope(value, runbook), { reveal: true }).text,
      );
    });
    const script = commands.map((command) => `${command}\nprintf '\\n@@@\\n'`).join('\n');
    const expected = HOSTILE.flatMap((value) => SHAPES.map((shape) => shape.expect(value)));
    for (const shell of SHELLS) {
      const { stdout, pwned } = runUnder(shell, script);
      const outputs = stdout.split('\n@@@\n').slice(0, -1);
      expect({ shell, outputs, pwned }).toEqual({ shell, outputs: expected, pwned: false });
    }
  });
});

describe('renderCommand quotes by place', () => {
  const scope: SubstitutionScope = {
    variables: [
      { name: 'v', value: "$(id) it's", secret: false, source: { type: 'literal' } },
      { name: 'w', value: 'a!b', secret: false, source: { type: 'literal' } },
    ],
    runbook: { name: 'x' },
  };
  it.each([
    ['echo ${v}', `echo '$(id) it'\\''s'`],
    ['echo "${v}"', `echo "\\$(id) it's"`],
    ["echo '${v}'", `echo '$(id) it'\\''s'`],
    ['echo "${v}!"', `echo "\\$(id) it's!"`],
    ['echo "${w}"', `echo "a"'!'"b"`],
  ])('%s → %s', (template, expected) => {
    expect(renderCommand(template, scope, { reveal: true }).text).toBe(expected);
  });

  it('shows a masked secret as ***** in every place', () => {
    const secret: SubstitutionScope = {
      variables: [{ name: 's', value: 'hunter2', secret: true, source: { type: 'literal' } }],
      runbook: { name: 'x' },
    };
    expect(renderCommand(`a ${'${s}'} "${'${s}'}" '${'${s}'}'`, secret, { reveal: false }).text).toBe(
      `a ***** "*****" '*****'`,
    );
  });
});
