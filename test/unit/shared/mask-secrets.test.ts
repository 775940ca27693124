import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createSecretMasker, listSecretForms, maskSecrets } from '../../../src/shared/mask-secrets.js';
import { quoteShellArg } from '../../../src/shared/shell-quote.js';

const SECRET = `it's "a" $ecret`;

describe('maskSecrets', () => {
  it('masks a secret as written and as shell quoting writes it', () => {
    const quoted = quoteShellArg(SECRET);
    expect(quoted).toBe(`'it'\\''s "a" $ecret'`);
    expect(maskSecrets(`+ login ${quoted}`, [SECRET])).toBe(`+ login '*****'`);
    expect(maskSecrets(`echo "it's \\"a\\" \\$ecret"`, [SECRET])).toBe('echo "*****"');
    // A command inside `sh -c '…'` (sudo): quoted twice.
    const twice = quoteShellArg(`login ${quoted}`);
    expect(maskSecrets(`sudo -n -- sh -c ${twice}`, [SECRET])).not.toContain('ecret');
    expect(maskSecrets(`plain ${SECRET} text`, [SECRET])).toBe('plain ***** text');
  });

  it('masks what a real shell trace prints of a quoted secret', () => {
    const trace = execFileSync('bash', ['-c', `set -x; : ${quoteShellArg(SECRET)} 2>/dev/null`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = execFileSync(
      'bash',
      ['-c', `bash -xc ${quoteShellArg(`: ${quoteShellArg(SECRET)}`)} 2>&1`],
      {
        encoding: 'utf8',
      },
    );
    expect(trace).toBe('');
    expect(stderr).toContain('ecret');
    expect(maskSecrets(stderr, [SECRET])).not.toMatch(/ecret|it'|"a"/);
  });

  it('masks short secrets too (validate refuses them in the runbook; env values still arrive)', () => {
    expect(maskSecrets('a1 b2 a1', ['a1'])).toBe('***** b2 *****');
    expect(maskSecrets('x', ['x'])).toBe('*****');
    expect(maskSecrets('unchanged', [''])).toBe('unchanged');
  });

  it('prefers the longest form at a position', () => {
    const forms = listSecretForms(["a'b"]);
    const twice = quoteShellArg(`x ${quoteShellArg("a'b")}`);
    expect(maskSecrets(twice, ["a'b"])).toBe(`'x '\\''*****'\\'''`);
    expect(forms.map((form) => form.length)).toEqual(
      [...forms.map((form) => form.length)].sort((x, y) => y - x),
    );
    expect(maskSecrets("x 'a'\\''b' y", ["a'b"])).toBe("x '*****' y");
  });
});

describe('stream masker', () => {
  const secrets = [SECRET, 'line1\nline2', 'Zz'];
  const text = `start ${SECRET} mid line1\nline2 Zz end '${SECRET.replace(/'/g, `'\\''`)}' Z`;
  const whole = maskSecrets(text, secrets);

  const feed = (chunks: string[]): string => {
    const stream = createSecretMasker(secrets).stream();
    return chunks.map((chunk) => stream.write(chunk)).join('') + stream.end();
  };

  it('masks a secret split at any point between two chunks', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      expect(feed([text.slice(0, cut), text.slice(cut)])).toBe(whole);
    }
  });

  it('masks a secret split across many chunks, down to one character each', () => {
    expect(feed([...text])).toBe(whole);
    for (let a = 0; a < text.length; a += 3) {
      for (let b = a; b <= text.length; b += 5) {
        expect(feed([text.slice(0, a), text.slice(a, b), text.slice(b)])).toBe(whole);
      }
    }
  });

  it('masks a secret that spans lines, before the output is cut into lines', () => {
    const lines = feed(['a line1\n', 'line2 b\n']).split('\n');
    expect(lines).toEqual(['a ***** b', '']);
  });

  it('holds back no more than the longest form minus one character', () => {
    const masker = createSecretMasker(['abcd']);
    const stream = masker.stream();
    expect(stream.write('0123456789')).toBe('0123456');
    expect(stream.write('ab')).toBe('78');
    expect(stream.write('cd!')).toBe('9*****');
    expect(stream.end()).toBe('!');
  });

  it('passes everything through when there are no secrets', () => {
    const stream = createSecretMasker([]).stream();
    expect(stream.write('abc')).toBe('abc');
    expect(stream.end()).toBe('');
  });
});
