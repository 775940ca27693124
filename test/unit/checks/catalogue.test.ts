import { describe, expect, it } from 'vitest';
import { checkCatalogue, defaultCheckOptions } from '../../../src/checks/catalogue.js';
import { CHECK_NAMES } from '../../../src/runbook/schema.js';
import { buildRunbookYaml, expectRunbook } from '../runbook/helpers.js';

describe('defaultCheckOptions', () => {
  it('equals what a runbook without check options normalizes to', () => {
    const { runbook } = expectRunbook(buildRunbookYaml());
    expect(defaultCheckOptions()).toEqual(runbook.checks.options);
  });

  it('replaces the wait of every converging check, and only that', () => {
    const defaults = defaultCheckOptions();
    const short = defaultCheckOptions(1000);
    for (const name of CHECK_NAMES) {
      const expected =
        'timeoutMs' in defaults[name] ? { ...defaults[name], timeoutMs: 1000 } : defaults[name];
      expect(short[name], name).toEqual(expected);
    }
  });

  it('has options for every check in the catalogue, and the catalogue a handler for every name', () => {
    expect(Object.keys(defaultCheckOptions())).toEqual([...CHECK_NAMES]);
    expect(Object.keys(checkCatalogue).sort()).toEqual([...CHECK_NAMES].sort());
  });
});
