import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InternalError, UsageError } from '../../../src/errors.js';
import {
  listReferences,
  quoteShellArg,
  renderCommand,
  renderValue,
  type SubstitutionScope,
  scanTemplate,
} from '../../../src/runbook/substitute.js';
import type { Variable } from '../../../src/runbook/types.js';

function literal(name: string, value: string, secret = false): Variable {
  return { name, value, secret, source: { type: 'literal' } };
}

const scope: SubstitutionScope = {
  variables: [
    literal('version', '20.10.24'),
    literal('pkg', '20.10.24+dfsg1-1+deb12u1'),
    literal('token', "s3cr'et value", true),
    literal('msg', 'hello world'),
    {
      name: 'unset',
      value: undefined,
      secret: false,
      source: { type: 'env', env: 'UNSET_VAR', usedDefault: false },
    },
  ],
  node: { hostname: 'node1', address: '10.77.0.11', role: 'manager' },
  runbook: { name: 'rolling-patch' },
};

/** What a real POSIX shell makes of `printf %s <quoted>`. */
function echoThroughShell(quoted: string): string {
  return execFileSync('sh', ['-c', `printf %s ${quoted}`], { encoding: 'utf8' });
}

describe('quoteShellArg', () => {
  it.each([
    ['20.10.24', '20.10.24'],
    ['node1', 'node1'],
    ['docker.io=20.10.24+dfsg1-1+deb12u1', 'docker.io=20.10.24+dfsg1-1+deb12u1'],
    ['/var/run/reboot-required', '/var/run/reboot-required'],
    ['', "''"],
    ['hello world', "'hello world'"],
    ["it's", "'it'\\''s'"],
    ['$(reboot)', "'$(reboot)'"],
    ['`id`', "'`id`'"],
    ['a;b', "'a;b'"],
    ['~root', "'~root'"],
    ['*', "'*'"],
    ['line1\nline2', "'line1\nline2'"],
    ['$HOME', "'$HOME'"],
    ['"dq"', `'"dq"'`],
  ])('quotes %j as %s', (value, expected) => {
    expect(quoteShellArg(value)).toBe(expected);
  });

  it.each([
    "it's",
    'a b  c',
    '$(touch /tmp/drydock-pwned)',
    '`touch /tmp/drydock-pwned`',
    "'; rm -rf / #",
    'new\nline',
    '\\backslash\\',
    '"$HOME"',
    "''''",
    '!history',
    'tab\there',
    'ünïcödé',
  ])('round-trips %j through sh unchanged', (value) => {
    expect(echoThroughShell(quoteShellArg(value))).toBe(value);
  });

  it('round-trips random strings through sh', () => {
    const alphabet = ` '"\`$(){}[]*?~!#&|;<>\\\n\tabc01=+-.,:/@%`;
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 60; n++) {
      const length = 1 + Math.floor(random() * 12);
      let value = '';
      for (let i = 0; i < length; i++) value += alphabet[Math.floor(random() * alphabet.length)];
      expect(echoThroughShell(quoteShellArg(value))).toBe(value);
    }
    // 60 real shells: a generous ceiling so a loaded machine does not fail it.
  }, 120_000);
});

describe('renderCommand', () => {
  it('substitutes safe values bare and the rest quoted', () => {
    expect(renderCommand('apt-get install docker.io=${pkg}', scope, { reveal: false })).toEqual({
      text: 'apt-get install docker.io=20.10.24+dfsg1-1+deb12u1',
      hasSecrets: false,
    });
    expect(renderCommand('echo ${msg}', scope, { reveal: false }).text).toBe("echo 'hello world'");
  });

  it('masks secrets unquoted unless revealed, and flags them', () => {
    expect(renderCommand('login --token ${token}', scope, { reveal: false })).toEqual({
      text: 'login --token *****',
      hasSecrets: true,
    });
    expect(renderCommand('login --token ${token}', scope, { reveal: true })).toEqual({
      text: "login --token 's3cr'\\''et value'",
      hasSecrets: true,
    });
  });

  it('knows the built-ins', () => {
    expect(
      renderCommand('echo ${node.name} ${node.address} ${node.role} ${runbook.name}', scope, {
        reveal: false,
      }).text,
    ).toBe('echo node1 10.77.0.11 manager rolling-patch');
  });

  it('keeps escapes and shell syntax', () => {
    expect(renderCommand('echo $${HOME} \\${USER} $HOME $(date) $$', scope, { reveal: false }).text).toBe(
      'echo ${HOME} ${USER} $HOME $(date) $$',
    );
  });

  it('shows unset env variables in the display and refuses them at run time', () => {
    expect(renderCommand('echo ${unset}', scope, { reveal: false }).text).toBe('echo <unset: $UNSET_VAR>');
    expect(() => renderCommand('echo ${unset}', scope, { reveal: true })).toThrow(UsageError);
  });

  it('throws on unknown references and malformed templates', () => {
    expect(() => renderCommand('echo ${nope}', scope, { reveal: false })).toThrow(InternalError);
    expect(() => renderCommand('echo ${version', scope, { reveal: false })).toThrow(InternalError);
    const { node: _node, ...withoutNode } = scope;
    expect(() => renderCommand('echo ${node.name}', withoutNode, { reveal: false })).toThrow(InternalError);
  });
});

describe('renderValue', () => {
  it('inserts values without quoting', () => {
    expect(renderValue('${msg}!', scope, { reveal: false }).text).toBe('hello world!');
    expect(renderValue('v${version}', scope, { reveal: false }).text).toBe('v20.10.24');
  });
});

describe('scanTemplate', () => {
  it('finds references and syntax errors with offsets', () => {
    expect(listReferences('a ${x} b ${node.name} $${y} \\${z}')).toEqual(['x', 'node.name']);
    expect(scanTemplate('echo ${bad name}').errors[0]?.offset).toBe(5);
    expect(scanTemplate('echo ${open').errors[0]?.message).toMatch(/unterminated/);
  });
});
