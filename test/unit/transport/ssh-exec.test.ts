import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RemoteRun, type RunEnd, type RunSinks, runRemote } from '../../../src/transport/ssh-exec.js';
import type { CommandResult, ExecOptions } from '../../../src/transport/types.js';

/** A remote run driven by the test: it decides when output, kills and the end arrive. */
function fakeRun() {
  const calls: string[] = [];
  const deliveries: (() => void)[] = [];
  let sinks: RunSinks | undefined;
  let end: (value: RunEnd) => void = () => {};
  const run: RemoteRun = {
    start(s) {
      sinks = s;
      return new Promise((resolve) => {
        end = resolve;
      });
    },
    signal(name, pgid) {
      calls.push(`${name} ${pgid ?? '?'}`);
      return new Promise((resolve) => deliveries.push(resolve));
    },
    abandon() {
      calls.push('abandon');
    },
  };
  return {
    run,
    calls,
    deliverAll: () => {
      for (const deliver of deliveries.splice(0)) deliver();
    },
    reportPid: (pid: number) => sinks?.stderr(Buffer.from(`\x1edrydock-pgid ${pid}\n`)),
    output: (text: string) => sinks?.stdout(Buffer.from(text)),
    end: (value: RunEnd) => end(value),
  };
}

function start(run: RemoteRun, options: ExecOptions): Promise<CommandResult> {
  return runRemote(
    run,
    options,
    { node: 'node1', user: 'root', maxOutputBytes: 1024, killGraceMs: 50, inFlight: new Set() },
    (partial) => ({
      node: 'node1',
      command: 'cmd',
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      durationMs: 0,
      timedOut: false,
      connectionLost: false,
      ...partial,
    }),
  );
}

describe('runRemote', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('streams output and strips the PID report', async () => {
    const fake = fakeRun();
    const chunks: string[] = [];
    const pending = start(fake.run, { onStdout: (text) => chunks.push(text) });
    fake.reportPid(42);
    fake.output('a\n');
    expect(chunks).toEqual(['a\n']);
    fake.end({ kind: 'exited', exitCode: 0, signal: null });
    expect(await pending).toMatchObject({ exitCode: 0, stdout: 'a\n', stderr: '' });
  });

  it('starts each grace period only once its kill was delivered', async () => {
    const fake = fakeRun();
    const pending = start(fake.run, { timeoutMs: 100 });
    fake.reportPid(42);
    await vi.advanceTimersByTimeAsync(100);
    expect(fake.calls).toEqual(['TERM 42']);
    // A slow side channel: no escalation while the TERM is on its way.
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.calls).toEqual(['TERM 42']);
    fake.deliverAll();
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.calls).toEqual(['TERM 42', 'KILL 42']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.calls).toEqual(['TERM 42', 'KILL 42']);
    fake.end({ kind: 'exited', exitCode: null, signal: 'KILL' });
    expect(await pending).toMatchObject({ timedOut: true, exitCode: null, signal: 'TERM' });
    expect(fake.calls).not.toContain('abandon');
  });

  it('waits for a late PID before the grace period, then signals the group', async () => {
    const fake = fakeRun();
    const controller = new AbortController();
    const pending = start(fake.run, { signal: controller.signal });
    controller.abort();
    expect(fake.calls).toEqual(['TERM ?']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.calls).toEqual(['TERM ?']);
    fake.reportPid(42);
    expect(fake.calls).toEqual(['TERM ?', 'TERM 42']);
    fake.end({ kind: 'exited', exitCode: null, signal: null });
    expect(await pending).toMatchObject({ timedOut: false, exitCode: null, signal: 'TERM' });
  });

  it('abandons a run whose PID never arrives, and one that outlives KILL', async () => {
    const silent = fakeRun();
    const first = start(silent.run, { timeoutMs: 10 });
    await vi.advanceTimersByTimeAsync(10_000 + 10);
    silent.deliverAll();
    await vi.advanceTimersByTimeAsync(50);
    expect(silent.calls).toEqual(['TERM ?', 'TERM ?', 'KILL ?', 'abandon']);
    silent.end({ kind: 'died', signal: null });
    expect((await first).stderr).toBe('');

    const stuck = fakeRun();
    const second = start(stuck.run, { timeoutMs: 10 });
    stuck.reportPid(7);
    await vi.advanceTimersByTimeAsync(10);
    stuck.deliverAll();
    await vi.advanceTimersByTimeAsync(50);
    stuck.deliverAll();
    await vi.advanceTimersByTimeAsync(50);
    expect(stuck.calls).toEqual(['TERM 7', 'KILL 7', 'abandon']);
    stuck.end({ kind: 'died', signal: 'HUP' });
    expect(await second).toMatchObject({ timedOut: true, signal: 'TERM', connectionLost: false });
  });

  it('ends as lost when the connection drops', async () => {
    const fake = fakeRun();
    const inFlight = new Set<() => void>();
    const pending = runRemote(
      fake.run,
      {},
      { node: 'node1', user: 'root', maxOutputBytes: 1024, killGraceMs: 50, inFlight },
      (partial) => ({ ...(partial as CommandResult) }),
    );
    for (const lose of inFlight) lose();
    expect(await pending).toMatchObject({ connectionLost: true, exitCode: null });
    expect(inFlight.size).toBe(0);
  });
});
