import { describe, expect, it } from 'vitest';
import {
  expandHome,
  parseJumpHost,
  parseSshConfig,
  resolveSshHost,
} from '../../../src/transport/ssh-config.js';

describe('ssh config', () => {
  const blocks = parseSshConfig(
    [
      'User fallback-ignored-if-host-sets-it',
      'Host node1 node1.lab',
      '  HostName 10.77.0.11',
      '  Port=2222',
      '  IdentityFile ~/.ssh/lab_%h',
      '  ProxyJump ops@bastion:2200,root@[fd00::1]:22',
      'Match exec "true"',
      '  User should-not-apply',
      'Host *.lab !node9.lab',
      '  User lab',
      '  IdentityFile "/keys/lab key"',
      'Host *',
      '  User everyone',
      '  Port 22',
    ].join('\n'),
  );

  it('resolves first-obtained values and accumulates IdentityFile', () => {
    const node1 = resolveSshHost(blocks, 'node1.lab', '/home/op');
    expect(node1).toEqual({
      hostName: '10.77.0.11',
      user: 'fallback-ignored-if-host-sets-it',
      port: 2222,
      identityFiles: ['/home/op/.ssh/lab_10.77.0.11', '/keys/lab key'],
      proxyJump: ['ops@bastion:2200', 'root@[fd00::1]:22'],
    });
  });

  it('applies negated patterns and skips Match blocks', () => {
    const withoutGlobal = parseSshConfig('Host *.lab !node9.lab\n  User lab\nHost *\n  User everyone\n');
    expect(resolveSshHost(withoutGlobal, 'node3.lab').user).toBe('lab');
    expect(resolveSshHost(withoutGlobal, 'node9.lab').user).toBe('everyone');
    expect(resolveSshHost(blocks, 'elsewhere').user).not.toBe('should-not-apply');
  });

  it('parses jump hosts and expands ~', () => {
    expect(parseJumpHost('ops@bastion:2200')).toEqual({ user: 'ops', host: 'bastion', port: 2200 });
    expect(parseJumpHost('[fd00::1]:22')).toEqual({ user: undefined, host: 'fd00::1', port: 22 });
    expect(parseJumpHost('bastion')).toEqual({ user: undefined, host: 'bastion', port: undefined });
    expect(expandHome('~/.ssh/id', '/root')).toBe('/root/.ssh/id');
    expect(expandHome('/abs', '/root')).toBe('/abs');
  });
});
