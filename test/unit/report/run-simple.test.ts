import { describe, expect, it } from 'vitest';
import { createSimpleReporter } from '../../../src/report/run-simple.js';
import { createHaltingRun, createSink } from './run-events.fixture.js';

function runSimple(options: { verbose?: boolean; color?: boolean } = {}) {
  const sink = createSink();
  const reporter = createSimpleReporter({ stdout: sink, color: false, ...options });
  for (const event of createHaltingRun()) reporter.onEvent(event);
  return sink;
}

const TIME = String.raw`\d\d:\d\d:\d\d`;

describe('createSimpleReporter', () => {
  it('prefixes progress lines with a timestamp and the node position', () => {
    const lines = runSimple().lines();
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${TIME} node2 \\[2/3\\] drain … started$`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${TIME} node1 \\[1/3\\] drain succeeded in 1.5s$`)),
    );
  });

  it('shows command results with exit code and duration', () => {
    const lines = runSimple().lines();
    expect(lines).toContainEqual(
      expect.stringMatching(/node1 \[1\/3\] patch \$ apt-get upgrade -y → exit 0 in 12.3s$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/node2 \[2\/3\] patch \$ apt-get upgrade -y → exit 100 in 12.3s$/),
    );
  });

  it('prints one line per check with its status, and evidence for failures', () => {
    const lines = runSimple().lines();
    expect(lines).toContainEqual(
      expect.stringMatching(/node1 \[1\/3\] drain check PASS node-ready node1: node1 is ready \(120ms\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/node2 \[2\/3\] patch check FAIL node-ready node2: node2 is down/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/evidence: \{"state":"down"\}$/));
  });

  it('prints a halt block with the failure, last output, failed checks, every node and the resume command', () => {
    const text = runSimple().text();
    const block = text.slice(text.indexOf('HALT'), text.lastIndexOf('─'));
    expect(block).toContain('HALT  run r-42 stopped at node2 › patch');
    expect(block).toContain('  reason: command exited with 100');
    expect(block).toContain('  command: apt-get upgrade -y');
    expect(block).toContain('  result: exit 100 after 12.3s');
    expect(block).toContain('    | E: Could not get lock /var/lib/dpkg/lock-frontend');
    expect(block).toContain('    FAIL node-ready node2: node2 is down (120ms)');
    expect(block).toContain('      evidence: {"state":"down"}');
    expect(block).toMatch(/NODE {3}AVAILABILITY {2}STATE {2}PROGRESS\n/);
    expect(block).toMatch(/node2 {2}drain {9}down {3}failed at patch\n/);
    expect(block).toContain('  resume: drydock resume --run r-42');
  });

  it('ends with a summary of nodes and stages', () => {
    const lines = runSimple().lines();
    expect(lines.at(-2)).toMatch(new RegExp(`^${TIME} run r-42 HALTED after 1m35s$`));
    expect(lines.at(-1)).toMatch(
      /summary: nodes 1 done, 1 halted, 0 unfinished, 1 not started of 3; stages 4 succeeded, 1 failed, 0 skipped$/,
    );
  });

  it('prints command output only when verbose', () => {
    expect(runSimple().lines()).not.toContainEqual(expect.stringMatching(/patch \| Reading package lists/));
    expect(runSimple({ verbose: true }).lines()).toContainEqual(
      expect.stringMatching(/node1 \[1\/3\] patch \| Reading package lists\.\.\.$/),
    );
  });

  it('prints a heartbeat line saying what a wait still misses, how long it waited and its limit', () => {
    const sink = createSink();
    const reporter = createSimpleReporter({ stdout: sink, color: false });
    const [start] = createHaltingRun();
    reporter.onEvent(start!);
    reporter.onEvent({
      type: 'waiting',
      node: 'node2',
      stage: 'drain',
      wait: 'drain',
      waitedMs: 15_200,
      timeoutMs: 45_000,
      missing: 'waiting for drain of node2: 1 task still on the node: web.2 (running); below count: web 1/2',
      at: '2026-11-28T22:00:15Z',
    });
    expect(sink.lines().at(-1)).toMatch(
      new RegExp(
        `^${TIME} node2 \\[2/3\\] drain … waiting for drain of node2: 1 task still on the node: web\\.2 \\(running\\); below count: web 1/2 \\(15s of 45s\\)$`,
      ),
    );
  });

  it('writes no escape sequences unless colour is on', () => {
    expect(runSimple().text()).not.toContain('\u001b');
    expect(runSimple({ color: true }).text()).toContain('\u001b[31mFAILED\u001b[0m');
  });
});
