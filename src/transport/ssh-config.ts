import { readdir, readFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, sep } from 'node:path';
import { ConnectionError } from '../errors.js';

/**
 * The subset of OpenSSH client config drydock honours: HostName, User, Port, IdentityFile,
 * ProxyJump and HashKnownHosts, from `Host` blocks and from `Match` blocks on host,
 * originalhost, user and all. `Include` follows globs relative to ~/.ssh, as ssh does, and
 * refuses a cycle. Anything drydock cannot honour (other Match criteria, ProxyCommand …) is
 * reported through `onWarning`, never skipped silently.
 */

/** One `Match` criterion; `negated` is `!host …`. */
export type MatchCriterion =
  | { kind: 'all'; negated: boolean }
  | { kind: 'host' | 'originalhost' | 'user'; patterns: string[]; negated: boolean };

export interface SshConfigBlock {
  /** Host patterns; `!pattern` negates. */
  patterns: string[];
  options: [keyword: string, value: string][];
  /** Set for a `Match` block: all criteria must hold. `unsupported` never matches. */
  match?: MatchCriterion[] | 'unsupported';
}

/** Options resolved for one host alias. Absent fields fall back to the runbook's values. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** ProxyJump hops, nearest first, as written (`user@host:port`); `none` clears it. */
  proxyJump?: string[];
  /** `HashKnownHosts yes`: accept-new writes `|1|salt|hash` entries. */
  hashKnownHosts?: boolean;
}

export interface ParseSshConfigOptions {
  /** For messages: `~/.ssh/config:12`. */
  file?: string;
  onWarning?: (message: string) => void;
}

/** Directives that change how ssh connects but that drydock does not apply, and what to do. */
const IGNORED_DIRECTIVES: Record<string, string> = {
  proxycommand: 'use ProxyJump instead',
  certificatefile: 'drydock does not offer user certificates: authorize the plain key',
  userknownhostsfile: 'drydock reads connection.ssh.knownHosts (or --known-hosts)',
  stricthostkeychecking: 'drydock follows connection.ssh.hostKeyPolicy (or --accept-new)',
  identitiesonly: 'drydock offers the agent, then the identity files',
  identityagent: 'drydock uses SSH_AUTH_SOCK (connection.ssh.agent)',
  hostkeyalias: 'known_hosts is looked up by the address drydock connects to',
  canonicalizehostname: 'write the full name or a HostName instead',
};

/** Expand a leading `~` the way OpenSSH does for paths in config and options. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Parse config text into blocks; options before the first Host apply to all hosts. */
export function parseSshConfig(text: string, options: ParseSshConfigOptions = {}): SshConfigBlock[] {
  const blocks: SshConfigBlock[] = [{ patterns: ['*'], options: [] }];
  const where = (line: number) => `${options.file ?? 'ssh_config'}:${line}`;
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toLowerCase();
    const value = unquote(match[2]!.trim());
    if (keyword === 'host') {
      blocks.push({ patterns: splitArgs(match[2]!), options: [] });
      continue;
    }
    if (keyword === 'match') {
      const criteria = parseMatch(splitArgs(match[2]!));
      if (typeof criteria === 'string') {
        options.onWarning?.(
          `${where(index + 1)}: Match ${criteria} is not supported by drydock: this Match block is ignored`,
        );
        blocks.push({ patterns: [], options: [], match: 'unsupported' });
      } else {
        blocks.push({ patterns: [], options: [], match: criteria });
      }
      continue;
    }
    const advice = IGNORED_DIRECTIVES[keyword];
    if (advice) options.onWarning?.(`${where(index + 1)}: ${match[1]} is ignored by drydock: ${advice}`);
    blocks[blocks.length - 1]!.options.push([keyword, value]);
  }
  return blocks;
}

/** Match criteria drydock can evaluate, or the first criterion it cannot (for the warning). */
function parseMatch(args: string[]): MatchCriterion[] | string {
  const criteria: MatchCriterion[] = [];
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
    const negated = raw.startsWith('!');
    const kind = (negated ? raw.slice(1) : raw).toLowerCase();
    if (kind === 'all') {
      criteria.push({ kind: 'all', negated });
      continue;
    }
    if (kind === 'host' || kind === 'originalhost' || kind === 'user') {
      const list = args[++i];
      if (list === undefined) return `${kind} without patterns`;
      criteria.push({ kind, patterns: list.split(','), negated });
      continue;
    }
    return `${kind}${args[i + 1] !== undefined && kind !== 'canonical' && kind !== 'final' ? ` ${args[i + 1]}` : ''}`;
  }
  return criteria;
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
export function resolveSshHost(
  blocks: SshConfigBlock[],
  host: string,
  home = homedir(),
  context: { user?: string } = {},
): SshHostConfig {
  const result: SshHostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  for (const block of blocks) {
    if (!appliesTo(block, host, result, context)) continue;
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
        case 'hashknownhosts':
          result.hashKnownHosts = value.toLowerCase() === 'yes';
          break;
        case 'proxyjump':
          result.proxyJump = value.toLowerCase() === 'none' ? [] : value.split(',').map((h) => h.trim());
          break;
      }
    }
  }
  return result;
}

/**
 * Whether a block applies: Host patterns match the alias; a Match block's criteria all hold
 * (`host` sees HostName once set, `originalhost` the alias, `user` the user known so far).
 */
function appliesTo(
  block: SshConfigBlock,
  alias: string,
  resolved: SshHostConfig,
  context: { user?: string },
): boolean {
  if (block.match === undefined) return matchesPatterns(block.patterns, alias);
  if (block.match === 'unsupported') return false;
  return block.match.every((criterion) => {
    let holds: boolean;
    switch (criterion.kind) {
      case 'all':
        holds = true;
        break;
      case 'host':
        holds = matchesPatterns(criterion.patterns, resolved.hostName ?? alias);
        break;
      case 'originalhost':
        holds = matchesPatterns(criterion.patterns, alias);
        break;
      case 'user':
        holds = matchesPatterns(criterion.patterns, resolved.user ?? context.user ?? '');
        break;
    }
    return criterion.negated ? !holds : holds;
  });
}

function expandTokens(value: string, host: string, resolved: SshHostConfig, home: string): string {
  return value
    .replace(/%d/g, home)
    .replace(/%h/g, resolved.hostName ?? host)
    .replace(/%n/g, host)
    .replace(/%r/g, resolved.user ?? '')
    .replace(/%%/g, '%');
}

/** OpenSSH's own limit on nested Includes. */
const MAX_INCLUDE_DEPTH = 16;

/**
 * Read ~/.ssh/config with its `Include`s (globs relative to ~/.ssh, sorted, as ssh does); a
 * missing file is an empty config. An Include cycle is an error naming the chain.
 */
export async function readSshConfig(
  file = join(homedir(), '.ssh', 'config'),
  home = homedir(),
  onWarning?: (message: string) => void,
  chain: string[] = [],
): Promise<SshConfigBlock[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const real = await realpath(file);
  if (chain.includes(real) || chain.length >= MAX_INCLUDE_DEPTH) {
    const path = [...chain, real].join(' -> ');
    throw new ConnectionError(
      chain.includes(real)
        ? `ssh_config includes itself: ${path}`
        : `ssh_config Includes nest deeper than ${MAX_INCLUDE_DEPTH}: ${path}`,
      { hint: 'remove the Include that leads back, or set connection.ssh.sshConfig: false' },
    );
  }
  const blocks = parseSshConfig(text, { file, ...(onWarning ? { onWarning } : {}) });
  const expanded: SshConfigBlock[] = [];
  for (const block of blocks) {
    const own: SshConfigBlock = { ...block, options: [] };
    expanded.push(own);
    for (const option of block.options) {
      if (option[0] !== 'include') {
        own.options.push(option);
        continue;
      }
      for (const raw of splitArgs(option[1])) {
        const path = expandHome(raw, home);
        const pattern = isAbsolute(path) ? path : join(home, '.ssh', path);
        for (const included of await expandGlob(pattern)) {
          const inner = await readSshConfig(included, home, onWarning, [...chain, real]);
          // Included Host blocks keep their own patterns; the leading global block inherits ours.
          for (const [i, innerBlock] of inner.entries()) {
            expanded.push(i === 0 ? { ...block, options: innerBlock.options } : innerBlock);
          }
        }
      }
    }
  }
  return expanded;
}

/** Paths matching a glob (`*`, `?`, `[…]` in any segment), sorted; a plain path as is. */
async function expandGlob(pattern: string): Promise<string[]> {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const segments = pattern.split(sep).filter((part, i) => part !== '' || i === 0);
  let paths = [segments[0] === '' ? sep : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (!/[*?[]/.test(segment)) {
      paths = paths.map((p) => join(p, segment));
      continue;
    }
    const regex = globSegmentRegex(segment);
    const next: string[] = [];
    for (const dir of paths) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        // As glob(3): a wildcard does not match a leading dot.
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (regex.test(name)) next.push(join(dir, name));
      }
    }
    paths = next;
  }
  return paths;
}

function globSegmentRegex(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close < 0) source += '\\[';
      else {
        source += `[${segment
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
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
