import type { CheckName, CheckOptions } from '../runbook/types.js';
import type { NodeShell, SwarmApi, SwarmNode } from '../transport/types.js';
import type { PortProber } from './probe.js';

export type { CheckName } from '../runbook/types.js';

/** `skipped`: not run on a node because its SSH or engine does not answer (see `cause`). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'not-applicable' | 'skipped';

/** A node whose SSH or engine does not answer: the cause behind every check of it that needs them. */
export interface NodeCause {
  node: string;
  part: 'ssh' | 'engine';
  /** One line: `engine on node4 not answering (Channel open failure…)`. */
  message: string;
  evidence: Record<string, unknown>;
}

/** One check's verdict, with the evidence an operator needs at 3 a.m. */
export interface CheckResult {
  check: CheckName;
  /** The node the result is about; undefined for cluster-wide results. */
  node?: string;
  status: CheckStatus;
  /** One line: what was found. */
  message: string;
  /** Machine-readable evidence: the offending route, the missing peer, the failing port. */
  evidence?: unknown;
  /** What usually fixes it: set by a check that recognises a known failure by its signature. */
  hint?: string;
  durationMs: number;
  /** Set on the row that states a node's cause and on the rows skipped or explained by it. */
  cause?: NodeCause;
}

/** Everything a node tells us in one SSH exec (see facts.ts): one round trip per node per round. */
export interface NodeFacts {
  node: string;
  bootId: string;
  /** Wall clock on the node (ms since epoch) and the local time the sample was taken. */
  clockMs: number;
  sampledAtMs: number;
  /** Half the facts exec's round trip: the node clock was read somewhere within ± this of sampledAtMs. */
  clockUncertaintyMs?: number;
  routes: RouteEntry[];
  addresses: { ifname: string; addrs: { family: string; local: string; prefixlen: number }[] }[];
  ipForward: string;
  /** `ip route get <peer>` source per peer address. */
  routeGetSource: Record<string, string | null>;
  iptablesBackend: 'legacy' | 'nf_tables' | 'unknown';
  /** `iptables -t nat -S DOCKER-INGRESS` lines, or null if the chain does not exist. */
  dockerIngressRules: string[] | null;
  /** True when /var/run/docker/netns/ingress_sbox exists. */
  ingressSbox: boolean;
  /** `ipvsadm -Ln` inside ingress_sbox when available, else null. */
  ipvs: string | null;
  rebootRequired: boolean;
  /** True when the kernel has IPVS (/proc/net/ip_vs exists); without it there is no routing mesh. */
  ipvsKernel?: boolean;
  /** Sections that failed to run or parse, by section name: evidence, never a crash. */
  sectionErrors?: Record<string, string>;
  raw?: string;
}

export interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
}

/** Snapshot taken before the run; later rounds compare against it. */
export interface Baseline {
  takenAt: string;
  nodes: Record<string, { facts: NodeFacts; swarm: SwarmNode }>;
}

/** What a check gets. Everything effectful arrives through ports. */
export interface CheckContext {
  /** Nodes the check should look at (the current node for between-stage checks, else all). */
  scope: string[];
  /** All cluster nodes as last read from the API. */
  nodes: SwarmNode[];
  /** The cluster API (a reachable manager). */
  swarm: SwarmApi;
  /** The engine API of one node (for asking each node's own engine). */
  engineOf(node: string): Promise<SwarmApi>;
  shellOf(node: string): Promise<NodeShell>;
  /**
   * Facts gathered this round (cached: one exec per node per round). `fresh` gathers them again
   * (a converging check re-reads after a sleep) and replaces the round's copy.
   */
  factsOf(node: string, options?: { fresh?: boolean }): Promise<NodeFacts>;
  baseline?: Baseline;
  /** Availability the run expects for each node right now (drained during maintenance). */
  expectedAvailability: Record<string, SwarmNode['availability']>;
  /** Nodes that were rebooted by a reboot stage since the baseline (boot id before). */
  rebootedFrom: Record<string, string>;
  /** When the current stage began (tasks failing since then count against it). */
  stageStartedAt: Date;
  /** Normalized check options from the runbook (variables already substituted). */
  options: CheckOptions;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  signal?: AbortSignal;
  /** A waiting check says what is still missing (undefined: nothing) for progress lines. */
  progress?(node: string | undefined, missing: string | undefined): void;
  /** Probes published ports from the drydock host; defaults to TCP/HTTP with node:net. */
  probe?: PortProber;
}

export interface CheckDefinition<N extends CheckName = CheckName> {
  name: N;
  /** One line for `plan` and `--help`. */
  summary: string;
  run(ctx: CheckContext, options: CheckOptions[N]): Promise<CheckResult[]>;
}

/** The catalogue: a mapped type, so adding a CheckName does not compile until it has a handler. */
export type CheckCatalogue = { [N in CheckName]: CheckDefinition<N> };
