import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * OpenSSH known_hosts: parsing, lookup and appending. Pure apart from `readKnownHosts` and
 * `appendKnownHost`, so the matching rules are unit-tested on strings.
 */

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number in the file, for messages ("known_hosts:12"). */
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  /** Host patterns (comma list) or one hashed `|1|salt|hash` entry. */
  hosts: HostPattern[];
  keyType: string;
  /** The raw key blob (base64-decoded), the same bytes the server presents. */
  key: Buffer;
}

type HostPattern =
  | { kind: 'hashed'; salt: Buffer; hash: Buffer }
  | { kind: 'pattern'; pattern: string; negated: boolean };

export type HostKeyCheck =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; entries: KnownHostEntry[] }
  /** No plain key for the host; `certAuthority` is a CA line that covers it (unsupported). */
  | { status: 'unknown'; certAuthority?: KnownHostEntry };

/** Parse a known_hosts file's text; malformed lines are skipped as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0]?.startsWith('@')) {
      continue;
    }
    const [rawHosts, keyType, rawKey] = fields;
    if (!rawHosts || !keyType || !rawKey) continue;
    const key = Buffer.from(rawKey, 'base64');
    if (key.length === 0) continue;
    const hosts = parseHostPatterns(rawHosts);
    if (hosts.length === 0) continue;
    entries.push({ line: index + 1, marker, hosts, keyType, key });
  }
  return entries;
}

function parseHostPatterns(raw: string): HostPattern[] {
  if (raw.startsWith('|1|')) {
    const [, , salt, hash] = raw.split('|');
    if (!salt || !hash) return [];
    return [{ kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') }];
  }
  return raw
    .split(',')
    .filter((p) => p !== '')
    .map((p) =>
      p.startsWith('!')
        ? { kind: 'pattern', pattern: p.slice(1).toLowerCase(), negated: true }
        : { kind: 'pattern', pattern: p.toLowerCase(), negated: false },
    );
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function formatKnownHostName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** Whether an entry's host field names this host (hashed, wildcards and negation included). */
export function matchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = formatKnownHostName(host, port);
  let matched = false;
  for (const pattern of entry.hosts) {
    if (pattern.kind === 'hashed') {
      const digest = createHmac('sha1', pattern.salt).update(name).digest();
      if (digest.equals(pattern.hash)) matched = true;
      continue;
    }
    if (matchGlob(pattern.pattern, name)) {
      // A negated match excludes the host even if another pattern matches it.
      if (pattern.negated) return false;
      matched = true;
    }
  }
  return matched;
}

function matchGlob(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** The key type named inside a key blob (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`). */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/**
 * Check a presented host key against the entries. Mirrors OpenSSH: a revoked key is refused
 * whatever else matches; a matching key is accepted; a different key of the same type (or only
 * keys of other types) for this host is a change; no entry for the host is unknown.
 */
export function checkHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  presented: Buffer,
): HostKeyCheck {
  const revoked = entries.find(
    (e) => e.marker === 'revoked' && e.key.equals(presented) && matchesHost(e, host, port),
  );
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => e.marker === undefined && matchesHost(e, host, port));
  const match = forHost.find((e) => e.key.equals(presented));
  if (match) return { status: 'match', entry: match };
  if (forHost.length === 0) {
    const authority = entries.find((e) => e.marker === 'cert-authority' && matchesHost(e, host, port));
    return authority ? { status: 'unknown', certAuthority: authority } : { status: 'unknown' };
  }
  return { status: 'changed', entries: forHost };
}

/** Key types recorded for a host, so the client can ask the server for a key it can verify. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const types = entries
    .filter((e) => e.marker === undefined && matchesHost(e, host, port))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** `SHA256:…` as `ssh-keygen -lf` prints it (base64 without padding). */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** A known_hosts line for a host key; hashed like `HashKnownHosts yes` when asked. */
export function formatKnownHostLine(host: string, port: number, key: Buffer, hashed = false): string {
  const name = formatKnownHostName(host, port);
  let hostField = name;
  if (hashed) {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(name).digest();
    hostField = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
  }
  return `${hostField} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}

/** Read and parse a known_hosts file; a missing file is an empty one. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Append a host key (accept-new). One `appendFile` (O_APPEND) per line keeps parallel appends whole. */
export async function appendKnownHost(
  file: string,
  host: string,
  port: number,
  key: Buffer,
  hashed = false,
): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const text = await readFile(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await appendFile(file, `${prefix}${formatKnownHostLine(host, port, key, hashed)}\n`, { mode: 0o600 });
}
