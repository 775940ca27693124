import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshShellFactory, type SshShell } from '../../src/transport/ssh.js';
import { type LabInfo, type LabNode, readLab, sshArgs, waitFor } from '../lab/lab.js';

// The lab nodes share the host's /etc/passwd (and /usr), so root's login shell cannot change on
// one node alone: a dedicated user with csh as its login shell logs in instead. The lab's sshd
// takes the lab key for every user (AuthorizedKeysFile $LAB/ssh/authorized_keys).
const USER = 'drydock-csh';
const HOME = `/home/${USER}`;
const CSH = '/bin/csh';

// Quotes, `$`, `$(…)`, a pipe, `&&`, `2>/dev/null`, a backslash, `!` and a newline: csh reads
// each of these differently from sh.
const COMMAND = [
  `printf '%s\\n' "it's \\"q\\" $HOME" | tr a-z A-Z && printf '%s\\n' 'a\\b' 2>/dev/null`,
  'n=$(printf "x\\ny\\n" | wc -l) && echo "lines=$n!"',
].join('\n');
const EXPECTED = `IT'S "Q" ${HOME.toUpperCase()}\na\\b\nlines=2!\n`;

describe('ssh transport on a node whose login shell is csh', () => {
  let lab: LabInfo;
  let node: LabNode;
  let createdUser = false;
  const shells: SshShell[] = [];

  beforeAll(async () => {
    lab = readLab();
    node = lab.nodes[lab.nodes.length - 1]!;
    if (!existsSync(CSH))
      throw new Error(`${CSH} is missing: apt-get install csh (scripts/test-all.sh does)`);
    const known = await execa('getent', ['passwd', USER], { reject: false });
    if (known.exitCode !== 0) {
      // Password '*' (none, but not locked): without PAM, sshd refuses a locked account ('!').
      await execa('useradd', ['--create-home', '--home-dir', HOME, '--shell', CSH, '--password', '*', USER]);
      createdUser = true;
    }
  });
  afterAll(async () => {
    for (const shell of shells.splice(0)) await shell.close();
    if (createdUser) await execa('userdel', ['--remove', USER], { reject: false });
  });

  const connect = async (persistentSessions: boolean) => {
    const factory = createSshShellFactory({ env: {}, persistentSessions, killGraceMs: 500 });
    const shell = await factory.connect({
      node: node.name,
      host: node.ip,
      port: 22,
      user: USER,
      identityFile: lab.sshKey,
      agent: false,
      knownHostsFile: lab.knownHosts,
      hostKeyPolicy: 'strict',
      useSshConfig: false,
      connectTimeoutMs: 10_000,
    });
    shells.push(shell);
    return shell;
  };

  it('is a real csh login: plain ssh reads the command as csh and gets it wrong', async () => {
    const args = sshArgs(lab, node).map((arg) =>
      arg === `${lab.user}@${node.ip}` ? `${USER}@${node.ip}` : arg,
    );
    const shell = await execa('ssh', [...args, 'echo $shell'], { reject: false });
    expect(shell.stdout).toBe(CSH);
    const raw = await execa('ssh', [...args, COMMAND], { reject: false });
    expect(raw.stdout).not.toBe(EXPECTED.trimEnd());
  });

  for (const persistent of [true, false]) {
    const mode = persistent ? 'a persistent shell' : 'plain channels';
    it(`runs POSIX commands under sh on ${mode}`, async () => {
      const shell = await connect(persistent);
      for (let i = 0; i < 2; i++) {
        expect(await shell.exec(COMMAND)).toMatchObject({ exitCode: 0, stdout: EXPECTED, stderr: '' });
      }
      expect(await shell.exec('echo out; echo err >&2; exit 3')).toMatchObject({
        exitCode: 3,
        stdout: 'out\n',
        stderr: 'err\n',
      });
    });

    it(`kills a timed-out command on ${mode}`, async () => {
      const shell = await connect(persistent);
      const marker = `sleep 34.${process.pid}`;
      const result = await shell.exec(`${marker}; echo never`, { timeoutMs: 300 });
      expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'TERM', stdout: '' });
      // The kill ran as a side command, also under sh: the command's processes go away.
      // ([s]leep: pgrep must not find the shell that runs it.)
      const pattern = `[s]${marker.slice(1)}`;
      await waitFor(
        async () => (await shell.exec(`pgrep -f '${pattern}' || echo none`)).stdout === 'none\n',
        10_000,
        {
          what: `${marker} to be killed`,
        },
      );
      expect(await shell.exec('echo still')).toMatchObject({ exitCode: 0, stdout: 'still\n' });
    });
  }
});
