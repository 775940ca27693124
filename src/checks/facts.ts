import { quoteShellArg } from '../shared/shell-quote.js';
import type { NodeShell } from '../transport/types.js';
import type { NodeFacts, RouteEntry } from './types.js';

const MARK = '@@DDX';
const SBOX = '/var/run/docker/netns/ingress_sbox';

/**
 * The one script gathering a node's facts: each section is independent (a missing tool fails
 * only its own section) and framed by markers carrying its exit code.
 */
export function buildFactsScript(peers: string[]): string {
  const lines = [
    `s() { printf '\\n${MARK}:%s@@\\n' "$1"; }`,
    `e() { printf '\\n${MARK}-RC:%s@@\\n' "$?"; }`,
    's boot; cat /proc/sys/kernel/random/boot_id 2>&1; e',
    's clock; date +%s%N 2>&1; e',
    's route; ip -j route 2>&1; e',
    's addr; ip -j addr 2>&1; e',
    's ipfwd; cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || sysctl -n net.ipv4.ip_forward 2>&1; e',
    ...peers.map((peer, i) => `s routeget.${i}; ip -j route get ${quoteShellArg(peer)} 2>&1; e`),
    's iptver; iptables --version 2>&1; e',
    's ingress; iptables -t nat -S DOCKER-INGRESS 2>&1; e',
    `s sbox; if [ -e ${SBOX} ]; then echo yes; else echo no; fi; e`,
    's ipvskernel; if [ -e /proc/net/ip_vs ]; then echo yes; else echo no; fi; e',
    `s ipvs; if command -v ipvsadm >/dev/null 2>&1 && [ -e ${SBOX} ]; then nsenter --net=${SBOX} ipvsadm -Ln 2>&1; else echo absent; false; fi; e`,
    's reboot; if [ -e /var/run/reboot-required ]; then echo yes; else echo no; fi; e',
  ];
  return lines.join('\n');
}

interface Section {
  output: string;
  exitCode: number | null;
}

/** Splits the script's output into sections by marker. */
export function splitSections(stdout: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  const re = new RegExp(`^${MARK}:([\\w.]+)@@$([\\s\\S]*?)^${MARK}-RC:(\\d+)@@$`, 'gm');
  for (const m of stdout.matchAll(re)) {
    sections.set(m[1]!, { output: m[2]!.trim(), exitCode: Number(m[3]) });
  }
  return sections;
}

/**
 * Parses the facts script's output. Every section is parsed on its own; a missing or malformed
 * section leaves a neutral value and an entry in `sectionErrors`.
 */
export function parseNodeFacts(
  node: string,
  stdout: string,
  peers: string[],
  sampledAtMs: number,
): NodeFacts {
  const sections = splitSections(stdout);
  const errors: Record<string, string> = {};
  const get = (name: string, requireZero = true): string | undefined => {
    const section = sections.get(name);
    if (!section) {
      errors[name] = 'section missing from output';
      return undefined;
    }
    if (requireZero && section.exitCode !== 0) {
      errors[name] = `exit ${section.exitCode}: ${section.output.slice(0, 300)}`;
      return undefined;
    }
    return section.output;
  };
  const json = <T>(name: string): T | undefined => {
    const text = get(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      errors[name] = `unparsable JSON: ${(error as Error).message}`;
      return undefined;
    }
  };

  const clockText = get('clock');
  let clockMs = Number.NaN;
  if (clockText !== undefined) {
    if (/^\d{10,}$/.test(clockText)) clockMs = Math.floor(Number(clockText.slice(0, -6)));
    else errors.clock = `unparsable date output: ${clockText.slice(0, 80)}`;
  }

  const rawRoutes = json<Record<string, unknown>[]>('route') ?? [];
  const routes = Array.isArray(rawRoutes) ? rawRoutes.map(toRoute) : [];
  const rawAddrs = json<{ ifname?: string; addr_info?: Record<string, unknown>[] }[]>('addr') ?? [];
  const addresses = (Array.isArray(rawAddrs) ? rawAddrs : []).map((link) => ({
    ifname: String(link.ifname ?? ''),
    addrs: (link.addr_info ?? []).map((a) => ({
      family: String(a.family ?? ''),
      local: String(a.local ?? ''),
      prefixlen: Number(a.prefixlen ?? 0),
    })),
  }));

  const routeGetSource: Record<string, string | null> = {};
  peers.forEach((peer, i) => {
    const name = `routeget.${i}`;
    const section = sections.get(name);
    routeGetSource[peer] = null;
    if (section?.exitCode !== 0) {
      errors[name] = `${peer}: ${section ? section.output.slice(0, 200) : 'section missing'}`;
      return;
    }
    try {
      const parsed = JSON.parse(section.output) as { prefsrc?: string }[];
      routeGetSource[peer] = parsed[0]?.prefsrc ?? null;
    } catch {
      // Older iproute2 ignores -j for `route get`: "10.0.0.2 dev eth0 src 10.0.0.1 uid 0".
      routeGetSource[peer] = /\bsrc (\S+)/.exec(section.output)?.[1] ?? null;
    }
  });

  const iptver = get('iptver') ?? '';
  const iptablesBackend = /nf_tables/.test(iptver)
    ? 'nf_tables'
    : /legacy/.test(iptver)
      ? 'legacy'
      : 'unknown';

  // A missing DOCKER-INGRESS chain is a normal state (no ingress ports): null, not an error.
  const ingress = sections.get('ingress');
  const dockerIngressRules =
    ingress && ingress.exitCode === 0
      ? ingress.output
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
      : null;

  const ipvsSection = sections.get('ipvs');
  const ipvs = ipvsSection && ipvsSection.exitCode === 0 ? ipvsSection.output : null;
  if (ipvsSection && ipvsSection.exitCode !== 0 && ipvsSection.output !== 'absent') {
    errors.ipvs = ipvsSection.output.slice(0, 300);
  }

  const facts: NodeFacts = {
    node,
    bootId: get('boot') ?? '',
    clockMs,
    sampledAtMs,
    routes,
    addresses,
    ipForward: get('ipfwd') ?? '',
    routeGetSource,
    iptablesBackend,
    dockerIngressRules,
    ingressSbox: get('sbox') === 'yes',
    ipvs,
    rebootRequired: get('reboot') === 'yes',
    ipvsKernel: get('ipvskernel') === 'yes',
  };
  if (Object.keys(errors).length > 0) facts.sectionErrors = errors;
  return facts;
}

function toRoute(raw: Record<string, unknown>): RouteEntry {
  const route: RouteEntry = { dst: String(raw.dst ?? '') };
  if (typeof raw.gateway === 'string') route.gateway = raw.gateway;
  if (typeof raw.dev === 'string') route.dev = raw.dev;
  if (typeof raw.prefsrc === 'string') route.prefsrc = raw.prefsrc;
  if (typeof raw.protocol === 'string') route.protocol = raw.protocol;
  if (typeof raw.scope === 'string') route.scope = raw.scope;
  if (typeof raw.metric === 'number') route.metric = raw.metric;
  return route;
}

/**
 * The timeout guards against a hung node, not a slow one (a dead connection is noticed by the
 * SSH keepalive): on a busy host the remote shell's start-up alone took over 20 s, and counts.
 */
const FACTS_TIMEOUT_MS = 90_000;

/**
 * Gathers a node's facts in ONE exec (SSH channels cost 0.2–0.4 s each). A failed exec (lost
 * connection) throws; a failed section only lands in `sectionErrors`.
 */
export async function gatherNodeFacts(
  shell: NodeShell,
  peers: string[],
  options: { sudo?: boolean; timeoutMs?: number; now?: () => number } = {},
): Promise<NodeFacts> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const result = await shell.exec(buildFactsScript(peers), {
    sudo: options.sudo ?? false,
    timeoutMs: options.timeoutMs ?? FACTS_TIMEOUT_MS,
    display: 'gather node facts',
  });
  if (result.exitCode === null) {
    const why = result.timedOut ? 'timed out' : result.connectionLost ? 'connection lost' : 'no exit code';
    throw new Error(`gathering facts on ${shell.node} failed: ${why} ${result.stderr.trim()}`.trim());
  }
  // The node read its clock somewhere in the round trip: its midpoint is off by at most half.
  const receivedAtMs = now();
  const facts = parseNodeFacts(shell.node, result.stdout, peers, (startedAt + receivedAtMs) / 2);
  facts.clockUncertaintyMs = Math.ceil((receivedAtMs - startedAt) / 2);
  facts.raw = result.stdout;
  return facts;
}

/** One NTP-style reading of a node's clock against the local one. */
export interface ClockSample {
  /** The node's wall clock (ms since epoch) as `date` printed it. */
  remoteMs: number;
  /** Local time just before the exec was sent and just after its result came back. */
  sentAtMs: number;
  receivedAtMs: number;
  /** Node clock minus local clock at the midpoint of the round trip. */
  offsetMs: number;
  /** Half the round trip: the remote reading happened somewhere in it, so the offset is ± this. */
  uncertaintyMs: number;
}

/** The offset and its uncertainty from one exchange: remote time against the round trip's midpoint. */
export function measureOffset(remoteMs: number, sentAtMs: number, receivedAtMs: number): ClockSample {
  return {
    remoteMs,
    sentAtMs,
    receivedAtMs,
    offsetMs: Math.round(remoteMs - (sentAtMs + receivedAtMs) / 2),
    uncertaintyMs: Math.ceil((receivedAtMs - sentAtMs) / 2),
  };
}

/** The clock reading the facts exec already made, as a sample (its window is the whole exec). */
export function clockSampleOf(facts: NodeFacts): ClockSample | undefined {
  const uncertaintyMs = facts.clockUncertaintyMs;
  if (!Number.isFinite(facts.clockMs) || uncertaintyMs === undefined) return undefined;
  return measureOffset(facts.clockMs, facts.sampledAtMs - uncertaintyMs, facts.sampledAtMs + uncertaintyMs);
}

/**
 * Reads a node's clock in its own tiny exec (`date +%s%N`) until a reading is `settled` (precise
 * enough for the caller's verdict), at most `samples` times, keeping the shortest round trip
 * (NTP's clock filter). `first` is a reading already made, e.g. by the facts exec: when it
 * settles the question, nothing more is asked. A tiny exec has a short window, where the facts
 * exec's lasts as long as the whole script (seconds on a busy host).
 */
export async function sampleNodeClock(
  shell: NodeShell,
  options: {
    now?: () => number;
    samples?: number;
    settled?: (sample: ClockSample) => boolean;
    first?: ClockSample;
    timeoutMs?: number;
  } = {},
): Promise<ClockSample> {
  const now = options.now ?? Date.now;
  const samples = options.samples ?? 3;
  const settled = options.settled ?? ((s: ClockSample) => s.uncertaintyMs <= 50);
  let best = options.first;
  if (best && settled(best)) return best;
  let lastError = '';
  for (let i = 0; i < samples; i++) {
    const sentAtMs = now();
    const result = await shell.exec('date +%s%N', {
      timeoutMs: options.timeoutMs ?? FACTS_TIMEOUT_MS,
      display: 'read the node clock',
    });
    const receivedAtMs = now();
    const text = result.stdout.trim();
    if (result.exitCode !== 0 || !/^\d{10,}$/.test(text)) {
      lastError = `date +%s%N: ${result.exitCode === null ? 'no exit code' : `exit ${result.exitCode}`} ${text.slice(0, 80)} ${result.stderr.trim().slice(0, 120)}`;
      continue;
    }
    const sample = measureOffset(Math.floor(Number(text.slice(0, -6))), sentAtMs, receivedAtMs);
    if (!best || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
    if (settled(best)) break;
  }
  if (!best) throw new Error(`reading the clock on ${shell.node} failed: ${lastError.trim()}`);
  return best;
}
