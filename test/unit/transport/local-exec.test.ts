import { describe, expect, it } from 'vitest';
import { createLocalRunner } from '../../../src/transport/local-exec.js';

// The real /bin/sh on this machine: the adapter's job is exactly to drive it.
describe('local command runner (execa, /bin/sh)', () => {
  const local = createLocalRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

  it('gives a non-zero exit as a result with the output, streamed as it comes', async () => {
    const chunks: string[] = [];
    const r = await local.exec('echo "out $((1+2))"; echo err >&2; exit 3', {
      display: 'shown',
      onStdout: (c) => chunks.push(c),
    });
    expect(r).toMatchObject({
      node: 'local',
      command: 'shown',
      exitCode: 3,
      stdout: 'out 3\n',
      stderr: 'err\n',
      timedOut: false,
    });
    expect(chunks.join('')).toBe('out 3\n');
  });

  it('runs under /bin/sh with only the environment it was given', async () => {
    const r = await createLocalRunner({ PATH: '/usr/bin:/bin', ONLY: 'x' }).exec(
      'echo "$ONLY-${HOME:-none}"',
    );
    expect(r.stdout).toBe('x-none\n');
  });

  it('kills a command at its timeout and says so', async () => {
    const r = await local.exec('sleep 30', { timeoutMs: 200 });
    expect(r).toMatchObject({ exitCode: null, timedOut: true });
  });

  it('stops a command when the cancel signal fires', async () => {
    const controller = new AbortController();
    const running = local.exec('sleep 30', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const r = await running;
    expect(r.exitCode).toBeNull();
    expect(r.timedOut).toBe(false);
  });
});
