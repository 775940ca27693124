import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  announcePid,
  PidMarkerReader,
  preferKnownKeyTypes,
  quoteShellArg,
  wrapSudo,
} from '../../../src/transport/ssh.js';

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
});
