import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkRunbookFile } from '../../../src/runbook/parse.js';

const examples = (await readdir('runbooks')).filter((name) => name.endsWith('.yaml')).sort();

describe('example runbooks', () => {
  it('include the documented ones', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['engine-upgrade.yaml', 'rolling-patch.yaml', 'verify-only.yaml']),
    );
  });

  it.each(examples)('%s validates with no problems and points editors at the schema', async (name) => {
    const path = `runbooks/${name}`;
    const result = await checkRunbookFile(path, { env: {} });
    expect(result.ok ? result.warnings : result.problems).toEqual([]);
    const text = await readFile(path, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/runbook.schema.json');
  });

  it('engine-upgrade reads drain → patch → upgrade → (reboot) → rejoin → verify', async () => {
    const result = await checkRunbookFile('runbooks/engine-upgrade.yaml', { env: {} });
    if (!result.ok) throw new Error('invalid');
    expect(result.runbook.stages.map((stage) => stage.name)).toEqual([
      'drain',
      'patch',
      'upgrade',
      'reboot',
      'rejoin',
      'verify',
    ]);
    expect(result.runbook.checks.options['engine-version'].expected).toBe('${engine_version}');
  });

  it('verify-only changes nothing', async () => {
    const result = await checkRunbookFile('runbooks/verify-only.yaml', { env: {} });
    if (!result.ok) throw new Error('invalid');
    expect(result.runbook.stages.every((stage) => stage.kind === 'checks')).toBe(true);
  });
});
