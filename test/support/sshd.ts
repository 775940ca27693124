import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real, throwaway OpenSSH server on 127.0.0.1 for transport tests: fresh host key, one
 * authorized client key, its own config, log and port. Needs root (it logs in as root).
 */
export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  dir: string;
  /** Private key authorized to log in. */
  clientKey: string;
  /** `[127.0.0.1]:port ssh-ed25519 …`, ready to write into a known_hosts file. */
  knownHostsLine: string;
  /** The server's ed25519 host key blob, base64 (as in known_hosts). */
  hostKeyBase64: string;
  /** Number of successful public-key logins so far (from the sshd log). */
  countLogins(): Promise<number>;
  /** PIDs of the sshd processes serving established connections on our port. */
  sessionPids(): Promise<number[]>;
  readLog(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /** Extra sshd_config lines. */
  config?: string[];
}

export async function startSshd(options: StartSshdOptions = {}): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'drydock-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'drydock-test-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'drydock-test-client', '-f', clientKey]);
  const authorized = join(dir, 'authorized_keys');
  await writeFile(authorized, await readFile(`${clientKey}.pub`), { mode: 0o600 });
  // sshd refuses to start without its privilege separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await findFreePort();
  const log = join(dir, 'sshd.log');
  const configFile = join(dir, 'sshd_config');
  await writeFile(
    configFile,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile none`,
      `AuthorizedKeysFile ${authorized}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'AllowStreamLocalForwarding yes',
      'MaxStartups 100',
      'LogLevel VERBOSE',
      ...(options.config ?? []),
      '',
    ].join('\n'),
  );
  await run('/usr/sbin/sshd', ['-t', '-f', configFile]);
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configFile, '-E', log], {
    stdio: 'ignore',
  });
  await waitForPort(port, child);

  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const hostKeyBase64 = hostPub[1]!;
  const readLog = () => readFile(log, 'utf8').catch(() => '');
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    dir,
    clientKey,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostKeyBase64}`,
    hostKeyBase64,
    readLog,
    async countLogins() {
      return (await readLog()).split('\n').filter((l) => l.includes('Accepted publickey')).length;
    },
    async sessionPids() {
      const { stdout } = await run('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`]);
      const pids = [...stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      return [...new Set(pids)].filter((pid) => pid !== child.pid);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A port the kernel just handed out; sshd binds it right after. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port} within 10s`);
}
