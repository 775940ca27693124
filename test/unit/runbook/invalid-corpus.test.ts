import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRunbookFile, parseRunbookFile } from '../../../src/runbook/parse.js';
import { formatProblems } from '../../../src/shared/problems.js';

/**
 * Every file in fixtures/invalid/ is a bad runbook; `<file>.expected.txt` next to it holds the
 * exact report. Adding a case = adding the two files. DRYDOCK_UPDATE_FIXTURES=1 rewrites the
 * expected files (review the diff!).
 */
const dir = 'fixtures/invalid';
const update = process.env.DRYDOCK_UPDATE_FIXTURES === '1';
const inputs = (await readdir(dir)).filter((name) => !name.endsWith('.expected.txt')).sort();

async function reportFor(path: string): Promise<string> {
  const result = await checkRunbookFile(path, { env: {} });
  if (result.ok) return '(valid)\n';
  return formatProblems(result.problems);
}

describe('fixtures/invalid', () => {
  it('holds the documented cases', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(16);
  });

  it.each(inputs)('%s', async (name) => {
    const path = `${dir}/${name}`;
    const report = await reportFor(path);
    const expectedPath = `${path}.expected.txt`;
    if (update) await writeFile(expectedPath, report);
    const expected = await readFile(expectedPath, 'utf8');
    expect(report).toBe(expected);
    for (const line of report.trimEnd().split('\n')) {
      expect(line).toMatch(new RegExp(`^(${path.replace(/[.]/g, '\\.')}:\\d+:\\d+  \\S.*|  hint: .+)$`));
      expect(line).not.toMatch(/^\s+at /);
    }
    await expect(parseRunbookFile(path, { env: {} })).rejects.toMatchObject({
      code: 'DRYDOCK_INVALID_INPUT',
    });
  });
});

describe('a 10 MB file', () => {
  let temp: string | undefined;
  afterAll(async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it('is refused before parsing', async () => {
    temp = await mkdtemp(join(tmpdir(), 'drydock-big-'));
    const path = join(temp, 'huge.yaml');
    await writeFile(path, `version: 1\nname: huge\n${'# padding padding padding padding\n'.repeat(310_000)}`);
    expect(formatProblems((await checkRunbookFile(path)).ok ? [] : await problemsOf(path))).toBe(
      `${path}:1:1  file is too large (10.1 MiB; the limit is 1 MiB); not parsed\n  hint: a runbook or inventory is a few kilobytes of YAML; is this the right file?\n`,
    );
  });
});

async function problemsOf(path: string) {
  const result = await checkRunbookFile(path);
  return result.ok ? [] : result.problems;
}
