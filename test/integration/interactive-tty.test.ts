import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTty, type Tty } from '../support/tty.js';

const ROOT = resolve(import.meta.dirname, '../..');
// Only the reporter and the prompts are built, so unfinished modules elsewhere cannot break this test.
const OUT_DIR = join(ROOT, 'node_modules/.cache/drydock-tty');

async function buildInteractiveModules(): Promise<void> {
  const tsconfig = join(tmpdir(), `drydock-tty-tsconfig-${process.pid}.json`);
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        rootDir: join(ROOT, 'src'),
        outDir: OUT_DIR,
        noEmit: false,
        sourceMap: false,
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      include: [],
      files: [join(ROOT, 'src/report/run-listr.ts'), join(ROOT, 'src/prompts/operator-gate.ts')],
    }),
  );
  await execa('npx', ['tsc', '-p', tsconfig], { cwd: ROOT });
}

describe('interactive run in a real terminal', () => {
  let tty: Tty | undefined;

  beforeAll(buildInteractiveModules, 120_000);
  afterEach(async () => {
    await tty?.kill();
  });

  it('shows the tree, asks before each stage, retries a failure, and aborts on request', async () => {
    tty = await startTty(`node test/support/fake-run.mjs ${OUT_DIR}`, { cwd: ROOT, cols: 120, rows: 40 });
    const t = tty;
    const continueAt = async (prompt: string) => {
      await t.waitFor(`${prompt}. Run it?\n❯ Continue`);
      await t.send('Enter');
    };

    await continueAt('node1 › drain: drain stage 1 of 3');
    // Between prompts the live listr2 tree is drawn: the running stage with a spinner and its output.
    const tree = await t.waitFor(/❯ node1 \[1\/3\] worker\n\s+\S drain\n\s+› Reading package lists/);
    expect(tree).toContain('✔ Pre-flight checks');
    expect(tree).toMatch(/◼ node2 \[2\/3\] worker/);

    // While the prompt is up, the tree (pre-flight included) stays in view above it.
    const atPrompt = await t.waitFor('node1 › patch: run stage 2 of 3. Run it?');
    expect(atPrompt).toMatch(
      /✔ Pre-flight checks[\s\S]*node1 \[1\/3\] worker[\s\S]*node1 › patch: run stage 2 of 3\. Run it\?/,
    );
    await continueAt('node1 › patch: run stage 2 of 3');
    await continueAt('node1 › activate: activate stage 3 of 3');
    await continueAt('node2 › drain: drain stage 1 of 3');
    await continueAt('node2 › patch: run stage 2 of 3');

    // The failure prompt defaults to abort; the operator moves up to retry.
    await t.waitFor(
      /node2 › patch failed: exit 100: E: Could not get lock\. What now\?[\s\S]*❯ Abort the run/,
    );
    await t.send('Up', 'Up', 'Up');
    await t.waitFor('❯ Retry the stage');
    await t.send('Enter');
    const retrying = await t.waitFor(/patch \(attempt 2\)/);
    expect(retrying).toContain('✖ $ apt-get upgrade -y → exit 100');
    expect(retrying).toContain('→ retry, attempt 2');

    await continueAt('node2 › activate: activate stage 3 of 3');
    await t.waitFor('node3 › drain: drain stage 1 of 3. Run it?');
    // Each answered prompt stays in the scrollback, under the tree as it stood when it was asked.
    expect(await t.transcript()).toMatch(/✔ node2 › patch failed: .* Retry the stage/);
    await t.send('Down', 'Down', 'Down', 'Down', 'Down');
    await t.waitFor('❯ Abort the run (resumable)');
    await t.send('Enter');

    expect(await t.exitCode(15_000)).toBe(1);
    const final = await t.screen();
    expect(final).toMatch(/✔ node1 \[1\/3\] worker → active/);
    expect(final).toMatch(/✔ node2 \[2\/3\] worker → active/);
    expect(final).toMatch(/✖ drain: aborted by the operator/);
    expect(final).toContain('HALT  run r-demo stopped at node3 › drain');
    expect(final).toMatch(/node3 +active +ready +stopped before drain/);
    expect(final).toContain('resume: drydock resume --run r-demo');
    expect(final).toMatch(/run r-demo halted after/);
    expect(final).not.toMatch(/Error|at .*\.js:\d+/);
  }, 90_000);

  it('treats Ctrl-C at a prompt as abort, without a stack trace', async () => {
    tty = await startTty(`node test/support/fake-run.mjs ${OUT_DIR}`, { cwd: ROOT });
    await tty.waitFor('node1 › drain: drain stage 1 of 3. Run it?');
    await tty.send('C-c');
    expect(await tty.exitCode(15_000)).toBe(1);
    const final = await tty.screen();
    expect(final).toContain('HALT  run r-demo stopped at node1 › drain');
    expect(final).not.toMatch(/ExitPromptError|at .*\.js:\d+/);
  }, 60_000);
});
