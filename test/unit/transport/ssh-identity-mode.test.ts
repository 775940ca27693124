// An identity file readable by group or others is refused, as OpenSSH's
// "UNPROTECTED PRIVATE KEY FILE" check does, naming the file and the fix.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../src/errors.js';
import { createSshShellFactory } from '../../../src/transport/ssh.js';
import { describeUnprotectedKey } from '../../../src/transport/ssh-connect.js';

describe('identity file permissions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-idmode-'));
  const key = join(dir, 'id_ed25519');
  writeFileSync(key, 'not parsed before the mode check\n');

  it('accepts 0600 and 0400, refuses anything group or others can read', async () => {
    for (const mode of [0o600, 0o400]) {
      chmodSync(key, mode);
      expect(await describeUnprotectedKey(key)).toBeUndefined();
    }
    chmodSync(key, 0o644);
    expect(await describeUnprotectedKey(key)).toBe(
      `UNPROTECTED PRIVATE KEY FILE: permissions 0644 for ${key} are too open (readable by group or others), so it is refused as OpenSSH would`,
    );
  });

  it('refuses to connect with it before any network traffic, with chmod 600 as the fix', async () => {
    chmodSync(key, 0o640);
    const factory = createSshShellFactory({ env: {}, home: dir, readSshConfig: async () => [] });
    const connecting = factory.connect({
      node: 'node1',
      // Nothing listens here: the refusal must come before a connection is tried.
      host: '192.0.2.1',
      port: 22,
      user: 'root',
      identityFile: key,
      agent: false,
      knownHostsFile: join(dir, 'known_hosts'),
      hostKeyPolicy: 'strict',
      useSshConfig: false,
      connectTimeoutMs: 60_000,
    });
    await expect(connecting).rejects.toBeInstanceOf(ConnectionError);
    await expect(connecting).rejects.toThrow(/UNPROTECTED PRIVATE KEY FILE: permissions 0640/);
    await expect(connecting).rejects.toMatchObject({
      hint: `only you may read a private key: chmod 600 ${key}`,
    });
  });
});
