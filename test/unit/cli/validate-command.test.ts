import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateCommand } from '../../../src/cli/commands/validate.js';
import { UsageError } from '../../../src/errors.js';

function captureIo() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (s: string) => {
        out.stdout += s;
      },
      stderr: (s: string) => {
        out.stderr += s;
      },
    },
  };
}

describe('validateCommand', () => {
  it('prints one summary line per valid file and exits 0', async () => {
    const { out, io } = captureIo();
    const code = await validateCommand(['runbooks/rolling-patch.yaml', 'runbooks/verify-only.yaml'], {}, io);
    expect(code).toBe(0);
    expect(out.stdout).toBe(
      [
        'runbooks/rolling-patch.yaml: ok — rolling-patch, 5 stages (drain → patch → reboot → rejoin → verify), checks: 2 between stages, 6 after each node',
        'runbooks/verify-only.yaml: ok — verify-only, 1 stage (verify), checks: 0 between stages, 2 after each node',
        '',
      ].join('\n'),
    );
    expect(out.stderr).toBe('');
  });

  it('prints every problem and exits 1', async () => {
    const { out, io } = captureIo();
    const code = await validateCommand(
      [
        'fixtures/invalid/wrong-types.yaml',
        'runbooks/engine-upgrade.yaml',
        'fixtures/invalid/unknown-field.yaml',
      ],
      { format: 'text' },
      io,
    );
    expect(code).toBe(1);
    expect(out.stdout).toContain(
      'fixtures/invalid/wrong-types.yaml:4:16  rollout.concurrency  expected a number, got `two`\n',
    );
    expect(out.stdout).toContain('runbooks/engine-upgrade.yaml: ok — engine-upgrade, 6 stages');
    expect(out.stdout).toContain('  hint: did you mean `timeout`?\n');
    expect(out.stderr).toBe('2 of 3 files invalid: 3 errors\n');
  });

  it('reports warnings without failing', async () => {
    const { out, io } = captureIo();
    expect(await validateCommand(['fixtures/runbooks/warnings.yaml'], {}, io)).toBe(0);
    expect(out.stdout).toMatch(/^fixtures\/runbooks\/warnings\.yaml: ok — .* \(1 warning\)\n/);
    expect(out.stdout).toContain('warning: options for `clock-skew`, which never runs');
  });

  it('writes JSON', async () => {
    const { out, io } = captureIo();
    expect(
      await validateCommand(
        ['runbooks/verify-only.yaml', 'fixtures/invalid/empty.yaml'],
        { format: 'json' },
        io,
      ),
    ).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      ok: false,
      files: [
        {
          file: 'runbooks/verify-only.yaml',
          ok: true,
          name: 'verify-only',
          stages: ['verify'],
          problems: [],
        },
        {
          file: 'fixtures/invalid/empty.yaml',
          ok: false,
          problems: [
            { file: 'fixtures/invalid/empty.yaml', line: 1, column: 1, path: '', message: 'file is empty' },
          ],
        },
      ],
    });
  });

  it('throws UsageError for missing files before validating anything', async () => {
    const { out, io } = captureIo();
    await expect(validateCommand(['runbooks/rolling-patch.yaml', 'nope.yaml'], {}, io)).rejects.toThrow(
      UsageError,
    );
    await expect(validateCommand(['nope.yaml'], {}, io)).rejects.toThrow('no such file: nope.yaml');
    expect(out.stdout).toBe('');
  });

  it('never prints a secret value, in text or JSON, valid or not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-validate-'));
    try {
      // Each secret sits where a message could quote it: a number YAML rewrote, a value too
      // short to mask, a secret next to schema errors, a reference refused in a command.
      const file = join(dir, 'secrets.yaml');
      writeFileSync(
        file,
        [
          'version: 1',
          'name: secrets',
          'variables:',
          '  hex: {value: 0x1F2E, secret: true}',
          '  oct: {value: 0o17, secret: true}',
          '  short: {value: "Zq", secret: true}',
          '  token: {value: "tok-SECRET-1", secret: true}',
          'stages:',
          '  - kind: run',
          '    commands: ["echo $(cat ${hex}) ${short}"]',
          '',
        ].join('\n'),
      );
      const valid = join(dir, 'valid.yaml');
      writeFileSync(
        valid,
        'version: 1\nname: ok\nvariables:\n  pin: {value: 0x1F2E, secret: true}\nstages:\n  - kind: run\n    commands: ["login ${pin}"]\n',
      );
      const broken = join(dir, 'broken.yaml');
      writeFileSync(
        broken,
        'version: 1\nname: broken\nvariables:\n  token: {value: "tok-SECRET-1", secret: true, extra: 1}\nstages: []\n',
      );
      const secrets = /1F2E|7982|0o17|\b15\b|Zq|tok-SECRET-1/i;
      for (const format of ['text', 'json'] as const) {
        for (const files of [[file], [valid], [broken], [file, valid, broken]]) {
          const { out, io } = captureIo();
          await validateCommand(files, { format }, io);
          expect(out.stdout + out.stderr).not.toMatch(secrets);
          expect(out.stdout + out.stderr).toMatch(/secret|unknown field/);
        }
      }
      const text = captureIo();
      await validateCommand([file], {}, text.io);
      expect(text.out.stdout).toContain('secret `short` is shorter than 3 characters');
      expect(text.out.stdout).toContain('warning: secret `hex` is read as a number');
      const { out, io } = captureIo();
      await validateCommand([valid], {}, io);
      expect(out.stdout).toContain('warning: secret `pin` is read as a number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
