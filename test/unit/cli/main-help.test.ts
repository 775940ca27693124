import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { ExitCode } from '../../../src/errors.js';

describe('drydock --help', () => {
  it('lists every exit code drydock can return, the internal-error 70 included', async () => {
    let out = '';
    const io = {
      stdout: (text: string) => {
        out += text;
      },
      stderr: (text: string) => {
        out += text;
      },
      isTTY: false,
      env: {},
    };
    await main(['node', 'drydock', '--help'], io);
    for (const code of Object.values(ExitCode)) expect(out).toMatch(new RegExp(`\\b${code} [a-z]`));
    expect(out).toContain('70 internal error');
  });
});
