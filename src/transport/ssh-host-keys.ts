import type { ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyError } from '../errors.js';
import { quoteShellArg } from '../shared/shell-quote.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  formatKnownHostName,
  type KnownHostEntry,
  keyTypeOfBlob,
} from './known-hosts.js';
import type { SshTarget } from './types.js';

/**
 * Host key policy of the SSH adapter: what to do with the key a server presents, given
 * known_hosts (known-hosts.ts reads and matches the file; this decides and explains).
 */

/** Verify a presented host key against known_hosts under the target's policy. */
export async function verifyHostKey(input: {
  known: KnownHostEntry[];
  knownHostsFile: string;
  host: string;
  port: number;
  key: Buffer;
  policy: SshTarget['hostKeyPolicy'];
  /** From ssh_config `HashKnownHosts`: write accepted keys hashed. */
  hashKnownHosts?: boolean;
}): Promise<void> {
  const { known, knownHostsFile, host, port, key, policy } = input;
  if (policy === 'insecure-ignore') return;
  const name = formatKnownHostName(host, port);
  const check = checkHostKey(known, host, port, key);
  switch (check.status) {
    case 'match':
      return;
    case 'revoked':
      throw new HostKeyError(
        `host key ${fingerprintOf(key)} of ${name} is marked @revoked in ${knownHostsFile}:${check.entry.line}`,
        { hint: 'the node presents a revoked key; replace its host key before connecting' },
      );
    case 'changed': {
      const lines = check.entries
        .map((e) => `${knownHostsFile}:${e.line} (${e.keyType} ${fingerprintOf(e.key)})`)
        .join(', ');
      throw new HostKeyError(
        `host key for ${name} has CHANGED: it presents ${keyTypeOfBlob(key)} ${fingerprintOf(key)}, known_hosts has ${lines}`,
        {
          hint: `this may be an attack. If the node was reinstalled, remove the old key with ssh-keygen -R ${quoteShellArg(name)} -f ${knownHostsFile} and verify the new fingerprint out of band`,
        },
      );
    }
    case 'unknown':
      if (policy === 'accept-new') {
        await appendKnownHost(knownHostsFile, host, port, key, input.hashKnownHosts ?? false);
        return;
      }
      if (check.certAuthority) {
        // ssh2 cannot check a host certificate, so the CA line can vouch for nothing here.
        throw new HostKeyError(
          `host key for ${name} is covered only by the @cert-authority line ${knownHostsFile}:${check.certAuthority.line}, and drydock does not support host certificates (ssh2 cannot verify them)`,
          {
            hint: `record the node's plain host key instead: ssh-keyscan -t ed25519 -p ${port} ${host} >> ${knownHostsFile} after checking its fingerprint ${fingerprintOf(key)} out of band (or use --accept-new)`,
          },
        );
      }
      throw new HostKeyError(`host key for ${name} is not in ${knownHostsFile}`, {
        hint: `add it with ssh-keyscan -p ${port} ${host} >> ${knownHostsFile} (check its fingerprint ${fingerprintOf(key)}) or re-run with --accept-new`,
      });
  }
}

/** The host key algorithms ssh2 offers, reordered so the server shows a key known_hosts can verify. */
export function preferKnownKeyTypes(knownTypes: string[]): ServerHostKeyAlgorithm[] {
  const all: ServerHostKeyAlgorithm[] = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ];
  const algorithmsOf = (type: string) =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
  const preferred = knownTypes
    .flatMap(algorithmsOf)
    .filter((a): a is ServerHostKeyAlgorithm => (all as string[]).includes(a));
  return [...new Set([...preferred, ...all])];
}
