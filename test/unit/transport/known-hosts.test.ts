import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostKeyError } from '../../../src/errors.js';
import {
  checkHostKey,
  fingerprintOf,
  formatKnownHostLine,
  keyTypeOfBlob,
  knownKeyTypes,
  parseKnownHosts,
} from '../../../src/transport/known-hosts.js';
import { verifyHostKey } from '../../../src/transport/ssh-host-keys.js';

// Keys and fingerprints produced by ssh-keygen (the hashed line by `ssh-keygen -H`).
const ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBuzFB0pnQc2UJtXg19y1y4Jv+NI/XwiUFwtfsLeqjV2';
const ED25519_FP = 'SHA256:CHuIpfDxJsZyVX6/ze8TNAa8PD579S05kFEUdUWlphA';
const RSA =
  'AAAAB3NzaC1yc2EAAAADAQABAAAAgQCo2F18Q8V8yr0Ks9tVngmfMFMWoJopO7JpWiFCXXhpZOnsvS/0PJWhiiyqjK/kbh3wH4t8GBsvk/N+GeeK3CbuieOJ0FkI3TqRASdBWg/+Lz4UQ0L1/ccEVeOzkCkMUsiCsBOve0S3WCafPVJv37ok6lLfNuWDJu6yQxHU/tYjZw==';
const RSA_FP = 'SHA256:D+mdmF/50VTf9UhdJJUUAPo/k6e0aR8lr2nVeMww3kE';
const HASHED_2222 = '|1|xRX6wfYJ9IgqJTclyha1jEQ4oOY=|p0v8YaII30XpOnO6rckhiJCIiws=';
const ed = Buffer.from(ED25519, 'base64');
const rsa = Buffer.from(RSA, 'base64');

describe('known_hosts', () => {
  it('computes fingerprints exactly as ssh-keygen -l prints them', () => {
    expect(fingerprintOf(ed)).toBe(ED25519_FP);
    expect(fingerprintOf(rsa)).toBe(RSA_FP);
    expect(keyTypeOfBlob(ed)).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(rsa)).toBe('ssh-rsa');
  });

  it('matches plain, comma-listed, [host]:port and hashed entries', () => {
    const entries = parseKnownHosts(
      [
        '# managed by hand',
        `node1,10.77.0.11 ssh-ed25519 ${ED25519}`,
        `[10.77.0.12]:2222 ssh-rsa ${RSA} comment here`,
        `${HASHED_2222} ssh-ed25519 ${ED25519}`,
        'garbage',
        '',
      ].join('\n'),
    );
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(checkHostKey(entries, '10.77.0.11', 22, ed)).toMatchObject({
      status: 'match',
      entry: { line: 2 },
    });
    expect(checkHostKey(entries, 'NODE1', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, '10.77.0.12', 2222, rsa).status).toBe('match');
    // [host]:port entries do not cover port 22, and vice versa.
    expect(checkHostKey(entries, '10.77.0.12', 22, rsa).status).toBe('unknown');
    expect(checkHostKey(entries, '10.77.0.11', 2222, ed)).toMatchObject({
      status: 'match',
      entry: { line: 4 },
    });
    expect(checkHostKey(entries, '10.77.0.99', 22, ed).status).toBe('unknown');
  });

  it('reports a changed key with the entries it contradicts', () => {
    const entries = parseKnownHosts(`10.77.0.11 ssh-rsa ${RSA}\n`);
    const check = checkHostKey(entries, '10.77.0.11', 22, ed);
    expect(check.status).toBe('changed');
    if (check.status === 'changed') expect(check.entries.map((e) => e.line)).toEqual([1]);
  });

  it('refuses @revoked keys and ignores @cert-authority lines', () => {
    const entries = parseKnownHosts(
      [
        `@cert-authority *.lab ssh-ed25519 ${ED25519}`,
        `@revoked * ssh-rsa ${RSA}`,
        `node2 ssh-rsa ${RSA}`,
      ].join('\n'),
    );
    expect(checkHostKey(entries, 'a.lab', 22, ed).status).toBe('unknown');
    expect(checkHostKey(entries, 'node2', 22, rsa)).toMatchObject({ status: 'revoked', entry: { line: 2 } });
  });

  it('honours wildcards and negation', () => {
    const entries = parseKnownHosts(`10.77.0.*,!10.77.0.13 ssh-ed25519 ${ED25519}\n`);
    expect(checkHostKey(entries, '10.77.0.12', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, '10.77.0.13', 22, ed).status).toBe('unknown');
  });

  it('lists the key types known for a host and writes lines that parse back', () => {
    const line = formatKnownHostLine('10.77.0.11', 2222, ed);
    expect(line).toBe(`[10.77.0.11]:2222 ssh-ed25519 ${ED25519}`);
    const hashed = formatKnownHostLine('10.77.0.11', 22, rsa, true);
    const entries = parseKnownHosts(`${line}\n${hashed}\n`);
    expect(knownKeyTypes(entries, '10.77.0.11', 2222)).toEqual(['ssh-ed25519']);
    expect(knownKeyTypes(entries, '10.77.0.11', 22)).toEqual(['ssh-rsa']);
    expect(checkHostKey(entries, '10.77.0.11', 22, rsa).status).toBe('match');
  });
});

describe('host keys drydock cannot or must not accept', () => {
  const key = Buffer.concat([
    Buffer.from([0, 0, 0, 11]),
    Buffer.from('ssh-ed25519'),
    Buffer.from([0, 0, 0, 32]),
    Buffer.alloc(32, 7),
  ]);
  const caKey = Buffer.concat([key.subarray(0, 19), Buffer.alloc(32, 9)]);

  it('names the @cert-authority line and says host certificates are unsupported', async () => {
    const known = parseKnownHosts(`# ca\n@cert-authority *.lab ssh-ed25519 ${caKey.toString('base64')}\n`);
    const refused = verifyHostKey({
      known,
      knownHostsFile: 'kh',
      host: 'node1.lab',
      port: 22,
      key,
      policy: 'strict',
    });
    await expect(refused).rejects.toBeInstanceOf(HostKeyError);
    await expect(refused).rejects.toThrow(
      'host key for node1.lab is covered only by the @cert-authority line kh:2, and drydock does not support host certificates',
    );
    await expect(refused).rejects.toMatchObject({ hint: expect.stringMatching(/ssh-keyscan -t ed25519/) });
  });

  it('refuses a key marked @revoked even when a plain line also lists it', async () => {
    const text = `node1 ssh-ed25519 ${key.toString('base64')}\n@revoked * ssh-ed25519 ${key.toString('base64')}\n`;
    const refused = verifyHostKey({
      known: parseKnownHosts(text),
      knownHostsFile: 'kh',
      host: 'node1',
      port: 22,
      key,
      policy: 'accept-new',
    });
    await expect(refused).rejects.toThrow(/marked @revoked in kh:2/);
  });

  it('writes a hashed entry under HashKnownHosts yes, which then matches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-kh-'));
    const file = join(dir, 'known_hosts');
    await verifyHostKey({
      known: [],
      knownHostsFile: file,
      host: '10.0.0.5',
      port: 2222,
      key,
      policy: 'accept-new',
      hashKnownHosts: true,
    });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(text).not.toContain('10.0.0.5');
    expect(checkHostKey(parseKnownHosts(text), '10.0.0.5', 2222, key).status).toBe('match');
  });
});
