import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * The subset of OpenSSH client config drydock honours: per-host HostName, User, Port,
 * IdentityFile and ProxyJump from `Host` blocks. `Match` blocks are skipped (they need the
 * context `ssh` evaluates them in); `Include` is followed for plain paths, not globs.
 */

export interface SshConfigBlock {
  /** Host patterns; `!pattern` negates. */
  patterns: string[];
  options: [keyword: string, value: string][];
}

/** Options resolved for one host alias. Absent fields fall back to the runbook's values. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** ProxyJump hops, nearest first, as written (`user@host:port`); `none` clears it. */
  proxyJump?: string[];
}

/** Expand a leading `~` the way OpenSSH does for paths in config and options. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Parse config text into blocks; options before the first Host apply to all hosts. */
export function parseSshConfig(text: string): SshConfigBlock[] {
  const blocks: SshConfigBlock[] = [{ patterns: ['*'], options: [] }];
  let skipping = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toLowerCase();
    const value = unquote(match[2]!.trim());
    if (keyword === 'host') {
      skipping = false;
      blocks.push({ patterns: splitArgs(match[2]!), options: [] });
      continue;
    }
    if (keyword === 'match') {
      // Match criteria (exec, originalhost …) are out of scope: ignore the block's options.
      skipping = true;
      continue;
    }
    if (skipping) continue;
    blocks[blocks.length - 1]!.options.push([keyword, value]);
  }
  return blocks;
}

function splitArgs(raw: string): string[] {
  return (raw.match(/"[^"]*"|\S+/g) ?? []).map(unquote);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function matchesPatterns(patterns: string[], host: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    if (new RegExp(`^${source}$`).test(host.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Resolve options for `host`: the first value obtained wins, IdentityFile accumulates. */
export function resolveSshHost(blocks: SshConfigBlock[], host: string, home = homedir()): SshHostConfig {
  const result: SshHostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  for (const block of blocks) {
    if (!matchesPatterns(block.patterns, host)) continue;
    for (const [keyword, value] of block.options) {
      if (keyword === 'identityfile') {
        result.identityFiles.push(expandHome(expandTokens(value, host, result, home), home));
        continue;
      }
      if (seen.has(keyword)) continue;
      seen.add(keyword);
      switch (keyword) {
        case 'hostname':
          result.hostName = value.replace(/%h/g, host);
          break;
        case 'user':
          result.user = value;
          break;
        case 'port': {
          const port = Number(value);
          if (Number.isInteger(port) && port > 0 && port < 65536) result.port = port;
          break;
        }
        case 'proxyjump':
          result.proxyJump = value.toLowerCase() === 'none' ? [] : value.split(',').map((h) => h.trim());
          break;
      }
    }
  }
  return result;
}

function expandTokens(value: string, host: string, resolved: SshHostConfig, home: string): string {
  return value
    .replace(/%d/g, home)
    .replace(/%h/g, resolved.hostName ?? host)
    .replace(/%n/g, host)
    .replace(/%r/g, resolved.user ?? '')
    .replace(/%%/g, '%');
}

/** Read ~/.ssh/config (plus plain `Include`s); a missing file is an empty config. */
export async function readSshConfig(
  file = join(homedir(), '.ssh', 'config'),
  home = homedir(),
): Promise<SshConfigBlock[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const blocks = parseSshConfig(text);
  const expanded: SshConfigBlock[] = [];
  for (const block of blocks) {
    const own: SshConfigBlock = { patterns: block.patterns, options: [] };
    expanded.push(own);
    for (const option of block.options) {
      if (option[0] !== 'include') {
        own.options.push(option);
        continue;
      }
      for (const raw of splitArgs(option[1])) {
        if (/[*?[]/.test(raw)) continue;
        const path = expandHome(raw, home);
        const included = await readSshConfig(isAbsolute(path) ? path : join(home, '.ssh', path), home);
        // Included Host blocks keep their own patterns; the leading global block inherits ours.
        for (const [i, inner] of included.entries()) {
          expanded.push(i === 0 ? { patterns: block.patterns, options: inner.options } : inner);
        }
      }
    }
  }
  return expanded;
}

/** Parse a ProxyJump hop `[user@]host[:port]` (IPv6 in brackets). */
export function parseJumpHost(hop: string): { user?: string; host: string; port?: number } {
  let rest = hop.replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    return { user, host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : undefined };
  }
  const [host, port] = rest.split(':');
  return { user, host: host ?? rest, port: port ? Number(port) : undefined };
}
