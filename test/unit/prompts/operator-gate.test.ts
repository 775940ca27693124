import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmUnlock, createInquirerGate, createScriptedGate } from '../../../src/prompts/operator-gate.js';
import { createPlan } from '../report/run-events.fixture.js';

const KEY = { enter: '\r', down: '\u001b[B', up: '\u001b[A', ctrlC: '\u0003' } as const;

/** A fake terminal: keys go in through `input`, the rendered prompt accumulates in `screen()`. */
function createTerminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const plain = () => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  let seen = 0;
  return {
    input,
    output,
    screen: plain,
    /** Sends keys once `waitFor` is drawn after the previous keys (inquirer reads keys once rendered). */
    async press(waitFor: string, ...keys: string[]) {
      for (let i = 0; i < 200 && !plain().slice(seen).includes(waitFor); i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      seen = plain().length;
      for (const key of keys) {
        input.write(key);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

describe('createInquirerGate', () => {
  it('continues on Enter before a stage and pauses the display around the prompt', async () => {
    const term = createTerminal();
    const hooks: string[] = [];
    const gate = createInquirerGate({
      input: term.input,
      output: term.output,
      onBeforePrompt: () => hooks.push('pause'),
      onAfterPrompt: () => hooks.push('resume'),
    });
    const decision = gate.beforeStage('node2', 'drain', 'Drain node2');
    await term.press('Run it?', KEY.enter);
    await expect(decision).resolves.toBe('continue');
    expect(term.screen()).toContain('node2 › drain: Drain node2. Run it?');
    expect(hooks).toEqual(['pause', 'resume']);
  });

  it('shows the stage details from the plan, then asks again', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output, plan: createPlan() });
    const decision = gate.beforeStage('node2', 'patch', 'Run 1 command');
    await term.press('Run it?', KEY.down, KEY.down, KEY.down, KEY.down, KEY.enter);
    await term.press('Run it?', KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.enter);
    await expect(decision).resolves.toBe('abort');
    expect(term.screen()).toContain('checks after: node-ready');
  });

  it('offers to stop asking for the rest of the node or of the run', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output });
    const forNode = gate.beforeStage('node2', 'drain', 'Drain node2');
    await term.press('Run it?', KEY.down, KEY.enter);
    await expect(forNode).resolves.toBe('continue-node');
    expect(term.screen()).toContain("Continue, and don't ask again for node2");
    const forRun = gate.beforeStage('node3', 'drain', 'Drain node3');
    await term.press('Run it?', KEY.down, KEY.down, KEY.enter);
    await expect(forRun).resolves.toBe('continue-run');
  });

  it('lists every command of a stage in its prompt, not only the first', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output });
    const summary = [
      '$ apt-get update',
      '$ echo "auth ****"',
      '$ apt-get upgrade -y',
      'timeout 10m per command',
    ];
    const decision = gate.beforeStage('node2', 'patch', summary.join('\n'));
    await term.press('Run all 3?', KEY.enter);
    await expect(decision).resolves.toBe('continue');
    const screen = term.screen();
    expect(screen).toContain('node2 › patch: 3 commands');
    for (const line of summary) expect(screen).toContain(`    ${line}`);
  });

  it('defaults to abort after a failure and offers retry', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output });
    const first = gate.onFailure('node2', 'patch', 'exit 100');
    await term.press('What now?', KEY.enter);
    await expect(first).resolves.toBe('abort');
    const second = gate.onFailure('node2', 'patch', 'exit 100');
    await term.press('What now?', KEY.up, KEY.up, KEY.up, KEY.enter);
    await expect(second).resolves.toBe('retry');
  });

  it('treats Ctrl-C as abort, without throwing', async () => {
    const term = createTerminal();
    const hooks: string[] = [];
    const gate = createInquirerGate({
      input: term.input,
      output: term.output,
      onAfterPrompt: () => hooks.push('resume'),
    });
    const decision = gate.beforeStage('node1', 'drain', 'Drain node1');
    await term.press('Run it?', KEY.ctrlC);
    await expect(decision).resolves.toBe('abort');
    expect(hooks).toEqual(['resume']);

    const confirmed = gate.confirm('node1', 'Is the app healthy?');
    await term.press('healthy?', KEY.ctrlC);
    await expect(confirmed).resolves.toBe(false);
  });

  it('treats an aborted signal as abort', async () => {
    const term = createTerminal();
    const controller = new AbortController();
    const gate = createInquirerGate({ input: term.input, output: term.output, signal: controller.signal });
    const decision = gate.onFailure('node1', 'patch', 'exit 1');
    await term.press('What now?');
    controller.abort();
    await expect(decision).resolves.toBe('abort');
  });

  it('offers to skip a pause, keeps waiting on Enter, and closes by itself when the pause runs out', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output });
    const summary = 'pausing 30s — soak: started 22:00:00, continuing at 22:00:30';
    const skipped = gate.whilePausing!('node2', 'soak', summary, new AbortController().signal);
    await term.press('Skip it?', KEY.enter);
    await term.press('Skip it?', KEY.down, KEY.enter);
    await expect(skipped).resolves.toBe('skip');
    expect(term.screen()).toContain(
      'node2 › soak: pausing 30s — soak: started 22:00:00, continuing at 22:00:30',
    );
    expect(term.screen()).toContain('Skip the pause');

    const ranOut = new AbortController();
    const waited = gate.whilePausing!('node2', 'soak', summary, ranOut.signal);
    await term.press('Skip it?');
    ranOut.abort();
    await expect(waited).resolves.toBe('waited');
  });

  it('confirms prompt stages and unlocks with y/n', async () => {
    const term = createTerminal();
    const gate = createInquirerGate({ input: term.input, output: term.output });
    const confirmed = gate.confirm('node1', 'Is the app healthy?');
    await term.press('healthy?', 'y', KEY.enter);
    await expect(confirmed).resolves.toBe(true);

    const unlock = confirmUnlock('alice@laptop', 'r-7', { input: term.input, output: term.output });
    await term.press('r-7', KEY.enter);
    await expect(unlock).resolves.toBe(false);
    expect(term.screen()).toContain('Remove the lock held by alice@laptop for run r-7?');
  });
});

describe('createScriptedGate', () => {
  it('answers from its queues, then the fallback, and records the questions', async () => {
    const gate = createScriptedGate({
      beforeStage: ['continue', 'skip'],
      onFailure: ['retry'],
      otherwise: { beforeStage: 'abort' },
    });
    expect(await gate.beforeStage('n1', 'drain', '')).toBe('continue');
    expect(await gate.beforeStage('n1', 'patch', '')).toBe('skip');
    expect(await gate.onFailure('n1', 'patch', '')).toBe('retry');
    expect(await gate.beforeStage('n1', 'activate', '')).toBe('abort');
    await expect(gate.confirm('n1', 'ok?')).rejects.toThrow('no answer left for confirm');
    expect(gate.calls.map((c) => `${c.ask}:${c.answer}`)).toEqual([
      'beforeStage:continue',
      'beforeStage:skip',
      'onFailure:retry',
      'beforeStage:abort',
    ]);
  });
});
