import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createReporter, REPORTER_NAMES } from '../../../src/report/reporters.js';
import { createListrReporter } from '../../../src/report/run-listr.js';
import { createHaltingRun } from './run-events.fixture.js';

function captureStream() {
  const stream = new PassThrough() as PassThrough & NodeJS.WriteStream;
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

describe('createReporter', () => {
  it('knows every reporter by name', () => {
    expect(REPORTER_NAMES).toEqual(['interactive', 'simple', 'json', 'silent']);
  });

  it('falls back from interactive to plain lines when stdout is not a terminal', async () => {
    let text = '';
    const reporter = createReporter('interactive', {
      stdout: (chunk) => {
        text += chunk;
      },
      stderr: () => {},
      isTTY: false,
    });
    for (const event of createHaltingRun()) reporter.onEvent(event);
    reporter.pause();
    reporter.resume();
    await reporter.close();
    expect(text).toMatch(/node2 \[2\/3\] drain … started/);
    expect(text).not.toContain('\u001b[');
  });
});

describe('createListrReporter', () => {
  it('drives the task list to the end of a halted run and prints the halt report', async () => {
    const out = captureStream();
    const reporter = createListrReporter({ stdout: out.stream, stderr: out.stream, renderer: 'silent' });
    reporter.pause();
    for (const event of createHaltingRun()) reporter.onEvent(event);
    reporter.resume();
    await reporter.close();
    expect(out.text()).toContain('HALT  run r-42 stopped at node2 › patch');
    expect(out.text()).toContain('resume: drydock resume --run r-42');
    expect(out.text()).toContain('run r-42 halted after 1m35s');
  });
});
