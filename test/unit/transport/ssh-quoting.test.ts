import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quoteShellArg } from '../../../src/shared/shell-quote.js';
import { wrapForSh } from '../../../src/transport/ssh-channel.js';
import { announcePid, PidMarkerReader, wrapSudo } from '../../../src/transport/ssh-exec.js';
import { preferKnownKeyTypes } from '../../../src/transport/ssh-host-keys.js';

describe('command wrapping', () => {
  it('quotes arguments so a POSIX shell reads them back verbatim', () => {
    for (const value of ["it's", 'a b', '$(reboot)', '`id`', '"x"', '', 'plain/path-1.2', "'; rm -rf / #"]) {
      const echoed = execFileSync('sh', ['-c', `printf %s ${quoteShellArg(value)}`], { encoding: 'utf8' });
      expect(echoed).toBe(value);
    }
  });

  it('wraps sudo without a password prompt', () => {
    expect(wrapSudo("apt-get -y upgrade && echo 'done'")).toBe(
      `sudo -n -- sh -c 'apt-get -y upgrade && echo '\\''done'\\'''`,
    );
  });

  it('announces the shell PID on stderr and strips it again, even split across chunks', () => {
    const stderr = execFileSync('sh', [
      '-c',
      `{ ${announcePid('echo out; echo err >&2')}; } 2>&1 >/dev/null`,
    ]);
    const pids: number[] = [];
    const reader = new PidMarkerReader((pid) => pids.push(pid));
    const rest = Buffer.concat([reader.push(stderr.subarray(0, 5)), reader.push(stderr.subarray(5))]);
    expect(rest.toString()).toBe('err\n');
    expect(pids).toHaveLength(1);
    const passthrough = new PidMarkerReader(() => {});
    expect(passthrough.push(Buffer.from('plain error\n')).toString()).toBe('plain error\n');
  });

  it('asks the server for a host key type that known_hosts holds', () => {
    expect(preferKnownKeyTypes(['ssh-rsa']).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferKnownKeyTypes([])[0]).toBe('ssh-ed25519');
  });

  it('hands a script to /bin/sh unchanged, whatever login shell reads the request', () => {
    const script = `printf '%s\\n' "it's \\"quoted\\" \\$HOME" | tr a-z A-Z && echo 'back\\slash!' 2>/dev/null
x=ünï; echo "$x" | wc -c`;
    const { request, stdin } = wrapForSh(script);
    // sshd runs `$SHELL -c <request>`; csh and fish are the login shells that read quotes differently.
    const shells = ['/bin/sh', '/bin/bash', '/bin/csh', '/usr/bin/fish'].filter((shell) => existsSync(shell));
    for (const shell of shells) {
      // No rc files: bash reads ~/.bashrc when stdin is a socket, as node's pipes are.
      const env = { PATH: process.env.PATH, HOME: '/nonexistent' };
      const output = execFileSync(shell, ['-c', request], { input: stdin, encoding: 'utf8', env });
      expect(output, shell).toBe('IT\'S "QUOTED" $HOME\nback\\slash!\n6\n');
    }
    expect(request).toMatch(/^[^\\!\n]*$/);
  });
});
