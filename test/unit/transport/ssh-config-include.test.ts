// ssh_config: Include cycles are refused, glob Includes are followed (relative to ~/.ssh, sorted),
// Match blocks are evaluated (host, originalhost, user, all) or ignored with a warning, and
// directives drydock does not apply (ProxyCommand …) are reported.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../src/errors.js';
import { parseSshConfig, readSshConfig, resolveSshHost } from '../../../src/transport/ssh-config.js';

function homeWith(files: Record<string, string>): string {
  const home = mkdtempSync(join(tmpdir(), 'drydock-sshcfg-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(home, '.ssh', name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  return home;
}

describe('ssh_config Include', () => {
  it('refuses a config that includes itself, naming the chain', async () => {
    const home = homeWith({ config: 'Include config\nHost a\n  User x\n' });
    const reading = readSshConfig(join(home, '.ssh', 'config'), home);
    await expect(reading).rejects.toBeInstanceOf(ConnectionError);
    await expect(reading).rejects.toThrow(/ssh_config includes itself: .*config -> .*config/);
  });

  it('refuses a longer cycle through a glob', async () => {
    const home = homeWith({ config: 'Include config.d/*\n', 'config.d/loop': 'Include ~/.ssh/config\n' });
    await expect(readSshConfig(join(home, '.ssh', 'config'), home)).rejects.toThrow(/includes itself/);
  });

  it('follows `Include config.d/*` relative to ~/.ssh, in sorted order, skipping dot files', async () => {
    const home = homeWith({
      config: 'Include config.d/*\nHost *\n  User fallback\n',
      'config.d/20-b': 'Host node1\n  User second\n  Port 2200\n',
      'config.d/10-a': 'Host node1\n  User first\n',
      'config.d/.hidden': 'Host node1\n  HostName 10.9.9.9\n',
    });
    const blocks = await readSshConfig(join(home, '.ssh', 'config'), home);
    expect(resolveSshHost(blocks, 'node1', home)).toMatchObject({ user: 'first', port: 2200 });
    expect(resolveSshHost(blocks, 'node1', home).hostName).toBeUndefined();
  });
});

describe('ssh_config Match', () => {
  const config = [
    'Host node1',
    '  HostName 10.0.0.1',
    'Match host 10.0.0.* user root',
    '  Port 2201',
    'Match originalhost node2',
    '  User deploy',
    'Match !originalhost node3 all',
    '  IdentityFile /k/not-node3',
    'Match exec "test -e /x"',
    '  User never',
    'Match all',
    '  HashKnownHosts yes',
  ].join('\n');

  it('evaluates host (after HostName), originalhost, user, all and negation', () => {
    const blocks = parseSshConfig(config);
    expect(resolveSshHost(blocks, 'node1', '/h', { user: 'root' })).toEqual({
      hostName: '10.0.0.1',
      port: 2201,
      identityFiles: ['/k/not-node3'],
      hashKnownHosts: true,
    });
    expect(resolveSshHost(blocks, 'node1', '/h', { user: 'ops' }).port).toBeUndefined();
    expect(resolveSshHost(blocks, 'node2', '/h').user).toBe('deploy');
    expect(resolveSshHost(blocks, 'node3', '/h').identityFiles).toEqual([]);
  });

  it('warns about a Match criterion it cannot evaluate and ignores that block', () => {
    const warnings: string[] = [];
    const blocks = parseSshConfig(config, { file: '~/.ssh/config', onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      '~/.ssh/config:9: Match exec test -e /x is not supported by drydock: this Match block is ignored',
    ]);
    expect(resolveSshHost(blocks, 'node2', '/h').user).toBe('deploy');
    expect(resolveSshHost(blocks, 'other', '/h').user).toBeUndefined();
  });
});

describe('ssh_config directives drydock ignores', () => {
  it('warns about ProxyCommand, UserKnownHostsFile and the like, with file and line', () => {
    const warnings: string[] = [];
    parseSshConfig('Host b\n  ProxyCommand nc %h %p\n  UserKnownHostsFile /x\n  User u\n', {
      file: 'cfg',
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([
      'cfg:2: ProxyCommand is ignored by drydock: use ProxyJump instead',
      'cfg:3: UserKnownHostsFile is ignored by drydock: drydock reads connection.ssh.knownHosts (or --known-hosts)',
    ]);
  });
});
