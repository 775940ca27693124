import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, HostKeyError } from '../../src/errors.js';
import { fingerprintOf, formatKnownHostLine } from '../../src/transport/known-hosts.js';
import { createSshShellFactory, type SshShell } from '../../src/transport/ssh.js';
import type { SshTarget } from '../../src/transport/types.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

const run = promisify(execFile);

// A real sshd on 127.0.0.1; no lab needed. The tests log in as root with a fresh key.
describe('ssh transport against a real sshd', () => {
  let sshd: TestSshd;
  let work: string;
  let knownHosts: string;
  const shells: SshShell[] = [];
  const factory = createSshShellFactory({ env: {}, killGraceMs: 500, keepaliveIntervalMs: 1000 });

  const targetFor = (overrides: Partial<SshTarget> = {}): SshTarget => ({
    node: 'node1',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.clientKey,
    agent: false,
    knownHostsFile: knownHosts,
    hostKeyPolicy: 'strict',
    useSshConfig: false,
    connectTimeoutMs: 5000,
    ...overrides,
  });
  const connect = async (overrides: Partial<SshTarget> = {}) => {
    const shell = await factory.connect(targetFor(overrides));
    shells.push(shell);
    return shell;
  };

  // Condition-based, no clock: polls until no process matches (the test's own timeout bounds it).
  const waitUntilGone = async (marker: string) => {
    for (;;) {
      const { stdout } = await run('pgrep', ['-f', marker]).catch(() => ({ stdout: '' }));
      if (stdout.trim() === '') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // A command that can only finish once the test saw its first line: proof of live streaming.
  const gatedCommand = (gate: string) =>
    `echo line1; while [ ! -e ${gate} ]; do sleep 0.05; done; echo line2; echo line3; echo e >&2`;

  beforeAll(async () => {
    sshd = await startSshd();
    work = await mkdtemp(join(tmpdir(), 'drydock-ssh-test-'));
    knownHosts = join(work, 'known_hosts');
    await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  });
  afterEach(async () => {
    for (const shell of shells.splice(0)) await shell.close();
  });
  afterAll(async () => {
    await sshd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('returns one result shape for success and failure', async () => {
    const shell = await connect();
    const ok = await shell.exec('echo hello; echo warn >&2');
    const failed = await shell.exec('echo partial; echo boom >&2; exit 3', { display: 'step ***' });
    expect(ok).toMatchObject({
      node: 'node1',
      command: 'echo hello; echo warn >&2',
      exitCode: 0,
      signal: null,
      stdout: 'hello\n',
      stderr: 'warn\n',
      timedOut: false,
      connectionLost: false,
    });
    expect(failed).toMatchObject({
      command: 'step ***',
      exitCode: 3,
      stdout: 'partial\n',
      stderr: 'boom\n',
      timedOut: false,
    });
    expect(Object.keys(failed).sort()).toEqual(Object.keys(ok).sort());
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('times out a command and kills its process group', async () => {
    const shell = await connect();
    const marker = `sleep 31.${process.pid}`;
    const result = await shell.exec(`${marker}; echo never`, { timeoutMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, connectionLost: false });
    expect(result.signal).toBe('TERM');
    await waitUntilGone(marker);
    // The connection stays usable after a timed-out command.
    expect((await shell.exec('echo still')).stdout).toBe('still\n');
  });

  it('aborts a command through an AbortSignal', async () => {
    const shell = await connect();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await shell.exec('sleep 30', { signal: controller.signal });
    expect(result).toMatchObject({ timedOut: false, exitCode: null, signal: 'TERM', connectionLost: false });
  });

  it('streams output while the command runs', async () => {
    const shell = await createSshShellFactory({ env: {}, persistentSessions: false }).connect(targetFor());
    shells.push(shell);
    const gate = join(work, 'gate-plain');
    const chunks: string[] = [];
    const result = await shell.exec(gatedCommand(gate), {
      timeoutMs: 60_000,
      onStdout: (text) => {
        chunks.push(text);
        if (chunks.join('').includes('line1\n')) void writeFile(gate, '');
      },
    });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'line1\nline2\nline3\n' });
    expect(chunks.join('')).toBe('line1\nline2\nline3\n');
  });

  it('keeps only the tail of large output', async () => {
    const shell = await createSshShellFactory({ env: {}, maxOutputBytes: 1024 }).connect(targetFor());
    shells.push(shell);
    const result = await shell.exec("head -c 100000 /dev/zero | tr '\\0' a; echo END");
    expect(result.stdout.length).toBe(1024);
    expect(result.stdout.endsWith('aEND\n')).toBe(true);
  });

  // Latency (reused vs new connection, persistent shell vs plain channel): bench/ssh-exec.mjs.
  it('reuses one connection for many commands', async () => {
    const loginsBefore = await sshd.countLogins();
    const shell = await connect();
    const rounds = 20;
    const results = await Promise.all(Array.from({ length: rounds }, (_, i) => shell.exec(`echo ${i}`)));
    for (let i = 0; i < 10; i++) expect((await shell.exec('true')).exitCode).toBe(0);
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: rounds }, (_, i) => String(i)));
    expect((await sshd.countLogins()) - loginsBefore).toBe(1);
  });

  it('refuses an unknown host under strict checking', async () => {
    const empty = join(work, 'empty_known_hosts');
    await writeFile(empty, '');
    const error = await connect({ knownHostsFile: empty }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).message).toContain(
      `host key for [127.0.0.1]:${sshd.port} is not in ${empty}`,
    );
    expect((error as HostKeyError).hint).toContain('ssh-keyscan');
    expect((error as HostKeyError).hint).toContain('--accept-new');
  });

  it('refuses a changed host key and names both fingerprints and the line', async () => {
    const file = join(work, 'changed_known_hosts');
    const otherKey = join(work, 'other_host_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const otherBase64 = (await readFile(`${otherKey}.pub`, 'utf8')).split(/\s+/)[1]!;
    await writeFile(file, `# comment\n[127.0.0.1]:${sshd.port} ssh-ed25519 ${otherBase64}\n`);
    for (const policy of ['strict', 'accept-new'] as const) {
      const error = await connect({ knownHostsFile: file, hostKeyPolicy: policy }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      const message = (error as HostKeyError).message;
      expect(message).toContain('CHANGED');
      expect(message).toContain(fingerprintOf(Buffer.from(sshd.hostKeyBase64, 'base64')));
      expect(message).toContain(fingerprintOf(Buffer.from(otherBase64, 'base64')));
      expect(message).toContain(`${file}:2`);
    }
    // accept-new never overwrites or adds to a changed entry.
    expect((await readFile(file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('records an unknown host under accept-new, then verifies it strictly', async () => {
    const file = join(work, 'sub', 'new_known_hosts');
    await connect({ knownHostsFile: file, hostKeyPolicy: 'accept-new' });
    const text = await readFile(file, 'utf8');
    expect(text).toBe(`${sshd.knownHostsLine}\n`);
    const strict = await connect({ knownHostsFile: file });
    expect((await strict.exec('echo ok')).stdout).toBe('ok\n');
  });

  it('accepts a hashed known_hosts entry and refuses a revoked key', async () => {
    const key = Buffer.from(sshd.hostKeyBase64, 'base64');
    const hashed = join(work, 'hashed_known_hosts');
    await writeFile(hashed, `${formatKnownHostLine('127.0.0.1', sshd.port, key, true)}\n`);
    expect((await readFile(hashed, 'utf8')).startsWith('|1|')).toBe(true);
    await connect({ knownHostsFile: hashed });

    const revoked = join(work, 'revoked_known_hosts');
    await writeFile(revoked, `${sshd.knownHostsLine}\n@revoked * ssh-ed25519 ${sshd.hostKeyBase64}\n`);
    const error = await connect({ knownHostsFile: revoked }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).message).toContain('@revoked');
  });

  it('fails authentication with a ConnectionError', async () => {
    const wrongKey = join(work, 'wrong_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const error = await connect({ identityFile: wrongKey }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe('DRYDOCK_CONNECTION');
    expect((error as ConnectionError).message).toContain('authentication');
  });

  it('gives up on a host that never answers within the connect timeout', async () => {
    // Accepts TCP but never speaks SSH: a hung node.
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await connect({ port, connectTimeoutMs: 500 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).hint).toContain('500ms');
    } finally {
      silent.close();
    }
  });

  it('reports a connection dropped mid-command as connectionLost, then reconnects', async () => {
    const shell = await connect();
    const pending = shell.exec('sleep 30');
    await new Promise((r) => setTimeout(r, 300));
    const pids = await sshd.sessionPids();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const result = await pending;
    expect(result).toMatchObject({ connectionLost: true, exitCode: null, timedOut: false });
    expect(shell.connected).toBe(false);
    expect((await shell.exec('true')).connectionLost).toBe(true);
    await shell.reconnect();
    expect(shell.connected).toBe(true);
    expect((await shell.exec('echo back')).stdout).toBe('back\n');
  });

  it('forwards a unix socket on the node over the same connection', async () => {
    const socketPath = join(work, 'echo.sock');
    const server = createServer((socket) => {
      socket.on('data', (data) => socket.write(data.toString().toUpperCase()));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const loginsBefore = await sshd.countLogins();
      const shell = await connect();
      const stream = await shell.openSocket(socketPath);
      const reply = new Promise<string>((resolve) =>
        stream.once('data', (d: Buffer) => resolve(d.toString())),
      );
      stream.write('ping over ssh');
      expect(await reply).toBe('PING OVER SSH');
      stream.end();
      expect((await sshd.countLogins()) - loginsBefore).toBe(1);
      await expect(shell.openSocket(join(work, 'missing.sock'))).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      server.close();
    }
  });

  it('follows a ~/.ssh/config alias with ProxyJump', async () => {
    const home = join(work, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await writeFile(
      join(home, '.ssh', 'config'),
      [
        'Host jumpbox',
        '  HostName 127.0.0.1',
        '  User root',
        `  Port ${sshd.port}`,
        `  IdentityFile ${sshd.clientKey}`,
        'Host node-alias',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        '  User root',
        `  IdentityFile ${sshd.clientKey}`,
        '  ProxyJump jumpbox',
        '',
      ].join('\n'),
    );
    const loginsBefore = await sshd.countLogins();
    const shell = await createSshShellFactory({ env: {}, home }).connect(
      targetFor({
        host: 'node-alias',
        port: 22,
        user: 'nobody',
        identityFile: undefined,
        useSshConfig: true,
      }),
    );
    shells.push(shell);
    expect((await shell.exec('echo via-jump')).stdout).toBe('via-jump\n');
    // Two logins: the jump host, then the node through the forwarded channel.
    expect((await sshd.countLogins()) - loginsBefore).toBe(2);
  });

  describe('persistent sessions', () => {
    // A shell that is not ready within max(connectTimeoutMs, 10 s) is given up for a plain channel
    // (sshd runs root's rc files for each channel first: seconds on a loaded machine). These tests
    // are about the shells themselves (same loop after a kill, pool reuse), not that fallback.
    const connectPersistent = () => connect({ connectTimeoutMs: 60_000 });
    const countSessionChannels = async () =>
      (await sshd.readLog()).split('\n').filter((l) => l.includes('Starting session: command')).length;

    it('runs 50 sequential commands on one persistent shell', async () => {
      const shell = await connectPersistent();
      const loop = (await shell.exec('echo $PPID')).stdout;
      const before = await countSessionChannels();
      for (let i = 0; i < 50; i++) {
        const r = await shell.exec(`echo ${i}`);
        expect(r).toMatchObject({ exitCode: 0, stdout: `${i}\n`, stderr: '' });
      }
      // No new channel in sshd's log, and every command was a child of the same loop shell.
      expect((await countSessionChannels()) - before).toBe(0);
      expect((await shell.exec('echo $PPID')).stdout).toBe(loop);
    });

    it('keeps stdout and stderr apart, byte for byte', async () => {
      const shell = await connectPersistent();
      await shell.exec('true');
      const noNewline = await shell.exec("printf 'out'; printf 'err' >&2; exit 4");
      expect(noNewline).toMatchObject({ exitCode: 4, stdout: 'out', stderr: 'err' });
      const blank = await shell.exec("printf '\\n\\n'; printf '\\n' >&2");
      expect(blank).toMatchObject({ stdout: '\n\n', stderr: '\n' });
      const binaryish = await shell.exec("printf '\\036\\001\\033[31mred\\r\\tx\\036'");
      expect(binaryish.stdout).toBe('\x1e\x01\x1b[31mred\r\tx\x1e');
      // A forged marker (wrong id) is ordinary output.
      const forged = await shell.exec(
        "printf '\\036DRYDOCK-END 1-1 0 0\\n'; printf '\\036DRYDOCK-END x 3 0\\n' >&2; echo after",
      );
      expect(forged).toMatchObject({
        exitCode: 0,
        stdout: '\x1eDRYDOCK-END 1-1 0 0\nafter\n',
        stderr: '\x1eDRYDOCK-END x 3 0\n',
      });
      const quoting = await shell.exec(`echo "it's \\"quoted\\" \\$HOME" 'single'; echo ünïcödé`);
      expect(quoting.stdout).toBe(`it's "quoted" $HOME single\nünïcödé\n`);
      const large = await shell.exec(
        "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2",
      );
      expect(large.stdout).toBe('a'.repeat(300000));
      expect(large.stderr).toBe('b'.repeat(200000));
      const interleaved = await shell.exec('for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; done');
      expect(interleaved).toMatchObject({ stdout: 'o1\no2\no3\no4\no5\n', stderr: 'e1\ne2\ne3\ne4\ne5\n' });
      const stdin = await shell.exec('cat; echo done');
      expect(stdin.stdout).toBe('done\n');
    });

    it('streams output live from a persistent shell', async () => {
      const shell = await connectPersistent();
      const loop = (await shell.exec('echo $PPID')).stdout;
      const gate = join(work, 'gate-persistent');
      const chunks: string[] = [];
      const errs: string[] = [];
      const result = await shell.exec(gatedCommand(gate), {
        timeoutMs: 60_000,
        onStdout: (text) => {
          chunks.push(text);
          if (chunks.join('').includes('line1\n')) void writeFile(gate, '');
        },
        onStderr: (text) => errs.push(text),
      });
      expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'line1\nline2\nline3\n' });
      expect(chunks.join('')).toBe('line1\nline2\nline3\n');
      expect(errs.join('')).toBe('e\n');
      expect((await shell.exec('echo $PPID')).stdout).toBe(loop);
    });

    it('runs parallel commands on a small pool of shells', async () => {
      const shell = await connectPersistent();
      // A rendezvous: each command waits until all 6 have started, so they can only finish if
      // they ran side by side (4 persistent shells and 2 plain channels).
      const meet = await mkdtemp(join(work, 'meet-'));
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          shell.exec(
            `touch ${meet}/${i}; until [ "$(ls ${meet} | wc -l)" -ge 6 ]; do sleep 0.05; done; echo ${i}; echo e${i} >&2`,
          ),
        ),
      );
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 6 }, (_, i) => `${i}\n`));
      expect(results.map((r) => r.stderr)).toEqual(Array.from({ length: 6 }, (_, i) => `e${i}\n`));
      const before = await countSessionChannels();
      const again = await Promise.all(Array.from({ length: 4 }, (_, i) => shell.exec(`echo ${i}`)));
      expect(again.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
      expect((await countSessionChannels()) - before).toBe(0);
    });

    it('kills the process group on timeout and abort, and the shell stays usable', async () => {
      const shell = await connectPersistent();
      const marker = `sleep 32.${process.pid}`;
      const timed = await shell.exec(`${marker} & ${marker}; echo never`, { timeoutMs: 300 });
      expect(timed).toMatchObject({ timedOut: true, exitCode: null, signal: 'TERM', connectionLost: false });
      expect(timed.stdout).toBe('');
      const loop = (await shell.exec('echo $PPID')).stdout;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const abortedResult = await shell.exec(`${marker}`, { signal: controller.signal });
      expect(abortedResult).toMatchObject({ timedOut: false, exitCode: null, signal: 'TERM' });
      await waitUntilGone(marker);
      expect(await shell.exec('echo still')).toMatchObject({ stdout: 'still\n', exitCode: 0 });
      expect((await shell.exec('echo $PPID')).stdout).toBe(loop);
    });

    it('kills a command that ignores TERM after the grace period', async () => {
      const shell = await connectPersistent();
      const marker = `sleep 33.${process.pid}`;
      const result = await shell.exec(`trap '' TERM; ${marker}`, { timeoutMs: 300 });
      expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'TERM' });
      await waitUntilGone(marker);
      expect((await shell.exec('echo ok')).stdout).toBe('ok\n');
    });

    it('survives exit, exec, a killed parent shell and leftover background processes', async () => {
      const shell = await connectPersistent();
      expect(await shell.exec('echo a; exit 7')).toMatchObject({ exitCode: 7, stdout: 'a\n' });
      expect(await shell.exec('exec echo replaced')).toMatchObject({ exitCode: 0, stdout: 'replaced\n' });
      expect(await shell.exec('kill -9 $$')).toMatchObject({ exitCode: null, signal: 'KILL' });
      const killedParent = await shell.exec('echo before; kill -9 $PPID; echo after');
      expect(killedParent).toMatchObject({
        exitCode: null,
        stdout: 'before\nafter\n',
        connectionLost: false,
      });
      expect(killedParent.stderr).toContain('persistent shell');
      expect(await shell.exec('echo next')).toMatchObject({ exitCode: 0, stdout: 'next\n', stderr: '' });
      // A background process that keeps the pipes: its late output never reaches later commands.
      const bg = await shell.exec('(sleep 0.5; echo late; echo late >&2) & echo fg');
      expect(bg).toMatchObject({ exitCode: 0, stdout: 'fg\n' });
      for (let i = 0; i < 4; i++) {
        expect(await shell.exec(`sleep 0.3; echo ${i}`)).toMatchObject({ stdout: `${i}\n`, stderr: '' });
      }
    });

    it('does not leak environment or working directory between commands', async () => {
      const shell = await connectPersistent();
      const home = (await shell.exec('pwd')).stdout;
      await shell.exec('export DRYDOCK_LEAK=1; LEAK2=2; cd /tmp; umask 077');
      const next = await shell.exec('echo "${DRYDOCK_LEAK:-unset} ${LEAK2:-unset}"; pwd; umask');
      expect(next.stdout).toBe(`unset unset\n${home}0022\n`);
      // The loop's own variables are not exported.
      expect((await shell.exec('env | grep -c __dd_ || true')).stdout).toBe('0\n');
    });

    it('loses pending commands with the connection, then starts a new shell after reconnect', async () => {
      const shell = await connectPersistent();
      await shell.exec('true');
      const pending = shell.exec('sleep 30');
      await new Promise((r) => setTimeout(r, 300));
      for (const pid of await sshd.sessionPids()) process.kill(pid, 'SIGKILL');
      expect(await pending).toMatchObject({ connectionLost: true, exitCode: null, timedOut: false });
      expect((await shell.exec('true')).connectionLost).toBe(true);
      await shell.reconnect();
      expect(await shell.exec('echo back')).toMatchObject({ stdout: 'back\n', connectionLost: false });
      expect(await shell.exec('echo again')).toMatchObject({ stdout: 'again\n' });
    });

    it('falls back to plain channels when the node lacks setsid', async () => {
      const bin = join(work, 'nosetsid');
      await mkdir(bin, { recursive: true });
      await writeFile(join(bin, 'setsid'), '');
      // A PATH without setsid: link the tools the loop needs, except setsid.
      const path = `${join(work, 'pathbin')}`;
      await mkdir(path, { recursive: true });
      for (const tool of ['base64', 'sh', 'cat'])
        await run('ln', ['-sf', `/usr/bin/${tool}`, join(path, tool)]);
      await run('ln', ['-sf', '/bin/sh', join(path, 'sh')]);
      const shell = await connectPersistent();
      const probe = await shell.exec(`PATH=${path} command -v setsid || echo none`);
      expect(probe.stdout).toBe('none\n');
      expect((await shell.exec('echo ok')).stdout).toBe('ok\n');
    });
  });

  it.skipIf(!existsSync('/usr/bin/sudo'))('wraps sudo commands non-interactively', async () => {
    const shell = await connect();
    const result = await shell.exec('echo "it\'s $(id -u)"', { sudo: true });
    expect(result).toMatchObject({ exitCode: 0, stdout: "it's 0\n" });
  });
});
