import type { CheckName, StageKind } from '../runbook/types.js';

/**
 * Cluster facts: what the planner knows about the cluster, from an inventory file or read from
 * a live cluster. Pure data; the planner never fetches anything itself.
 */
export interface ClusterFacts {
  source: 'inventory' | 'docker';
  /** Where the facts came from (inventory path or Docker endpoint), for the plan header. */
  origin: string;
  nodes: ClusterNodeFacts[];
  services: ServiceFacts[];
  /**
   * Tasks meant to run, and where: read from a live cluster only. Absent for an inventory,
   * which cannot say where tasks run (the plan then has no traffic warnings).
   */
  tasks?: TaskFacts[];
}

/** A task the swarm means to run (desired state running), on one node. */
export interface TaskFacts {
  service: string;
  /** Swarm node ID. */
  nodeId: string;
  /** Its current state (running, starting, pending, …). */
  state: string;
}

/**
 * One node as the swarm (or an inventory) describes it: identity, role, availability, labels.
 * Not to be confused with the checks' `NodeFacts`, which a node reports about itself over SSH.
 */
export interface ClusterNodeFacts {
  id: string;
  hostname: string;
  address: string;
  role: 'manager' | 'worker';
  leader: boolean;
  availability: 'active' | 'pause' | 'drain';
  state: 'unknown' | 'down' | 'ready' | 'disconnected';
  /** Managers only. */
  reachability?: 'unknown' | 'unreachable' | 'reachable';
  labels: Record<string, string>;
  engineVersion: string;
}

export interface ServiceFacts {
  name: string;
  mode: 'replicated' | 'global';
  replicas?: number;
  ports: { published: number; target: number; protocol: 'tcp' | 'udp' | 'sctp'; mode: 'ingress' | 'host' }[];
  /** Placement constraints, e.g. `node.role==worker` (live cluster only, as the rest below). */
  constraints?: string[];
  /** `not-in-spec`: the service spec has none (its image may: that is not visible here). */
  healthcheck?: 'defined' | 'disabled' | 'not-in-spec';
  stopGracePeriodMs?: number;
  /** Placement.MaxReplicas; absent when unlimited. */
  maxReplicasPerNode?: number;
}

/** A command as the plan shows it and as the executor runs it: same template, one renderer. */
export interface PlannedCommand {
  /** The template from the runbook, before substitution (run time substitutes with secrets). */
  template: string;
  /** After substitution, secrets masked as *****. Safe to print and journal. */
  display: string;
  /** True when the display differs from what runs because a secret was masked. */
  hasSecrets: boolean;
}

interface PlannedStageBase<K extends StageKind> {
  kind: K;
  /** Position within the node's stages (0-based). */
  index: number;
  name: string;
  description?: string;
  /** The between-stage checks that run after this stage (empty when disabled for it). */
  checksAfter: CheckName[];
  /** Things that cannot be known in advance, e.g. "only if /var/run/reboot-required exists". */
  conditions: string[];
}

export type PlannedStage =
  | (PlannedStageBase<'drain'> & {
      timeoutMs: number;
      moveFirst: boolean;
      moveTimeoutMs: number;
      skipReason?: string;
    })
  | (PlannedStageBase<'run'> & {
      commands: PlannedCommand[];
      sudo: boolean;
      timeoutMs: number;
      retries: number;
      retryDelayMs: number;
      /** Absent when the stage has none (and in plans journaled before skipIf existed). */
      skipIf?: PlannedSkipCondition[];
    })
  | (PlannedStageBase<'local'> & {
      commands: PlannedCommand[];
      timeoutMs: number;
      retries: number;
      retryDelayMs: number;
      until?: { command: PlannedCommand; timeoutMs: number; intervalMs: number };
    })
  | (PlannedStageBase<'reboot'> & {
      when: 'always' | 'if-required';
      requiredFile: string;
      command: PlannedCommand;
      /** Prints the engine's last log lines, for a node whose engine does not come back. */
      engineLog: PlannedCommand;
      /** Run the reboot command with sudo (connection.ssh.sudo). */
      sudo: boolean;
      returnTimeoutMs: number;
      skipIf?: PlannedSkipCondition[];
    })
  | (PlannedStageBase<'activate'> & { timeoutMs: number; skipReason?: string })
  | (PlannedStageBase<'checks'> & { run: CheckName[] })
  | (PlannedStageBase<'pause'> & { durationMs: number; reason?: string })
  | (PlannedStageBase<'prompt'> & { message: string; unattended: 'continue' | 'halt' });

/** One `skipIf` condition as planned: what it means and the read-only command that tests it. */
export interface PlannedSkipCondition {
  kind: 'command' | 'engine-version' | 'no-upgradable-packages';
  /** What holding means, e.g. "engine already at 24.0.7". */
  label: string;
  /** Exit 0: holds (skip). Built-ins exit 1 when it does not hold and anything else on error. */
  command: PlannedCommand;
}

/** What a node said when its skip conditions were evaluated. */
export type SkipEvaluation =
  | { verdict: 'skip'; reason: string }
  | { verdict: 'run'; reason: string }
  | { verdict: 'error'; reason: string };

export interface PlannedNode {
  name: string;
  id: string;
  address: string;
  role: 'manager' | 'worker';
  leader: boolean;
  availabilityBefore: ClusterNodeFacts['availability'];
  /** 1-based position in the rollout. */
  position: number;
  /** 1-based batch number. */
  batch: number;
  /** Why the node sits where it does, e.g. "worker, batch 1 of 2" or "leader, last". */
  reason: string;
  /** Things the operator should know about this node, e.g. "was paused before the run: left paused". */
  notes: string[];
  stages: PlannedStage[];
  /** Skipped whole, known before the run (finished by the run `--continue-from` names). */
  skip?: { reason: string };
}

export interface PlannedBatch {
  number: number;
  role: 'manager' | 'worker';
  nodes: string[];
}

/** The exact plan: what `plan` prints and what `run` executes. */
export interface Plan {
  /** Version of the JSON plan format (documented in the README). */
  formatVersion: 1;
  runbook: { name: string; file: string; hash: string; description?: string };
  cluster: {
    source: ClusterFacts['source'];
    origin: string;
    nodes: number;
    managers: number;
    leader: string | null;
  };
  rollout: { concurrency: number; soakBetweenNodesMs: number; windowStart?: string; windowEnd?: string };
  checks: { preflight: CheckName[]; between: CheckName[]; afterNode: CheckName[] };
  variables: { name: string; value: string; secret: boolean; source: string }[];
  batches: PlannedBatch[];
  nodes: PlannedNode[];
  /** `run --continue-from`: the earlier run whose finished nodes this plan skips. */
  continueFrom?: { runId: string; nodes: string[]; notes: string[] };
  /** Nodes matched by nothing or excluded, with why; shown so nobody is surprised. */
  skipped: { name: string; reason: string }[];
  warnings: string[];
  /**
   * What the drains will do to the traffic of services on drained nodes, and what drydock does
   * about it. Absent when the facts cannot say where tasks run (an inventory).
   */
  traffic?: TrafficWarning[];
  /** Webhooks the run will call, by host only (the URL is a secret). Absent when none. */
  notify?: { host: string; format: 'json' | 'slack'; events: string[]; required: boolean }[];
}

/** One thing about a service that matters for its traffic while the plan drains a node. */
export interface TrafficWarning {
  kind: 'single-replica' | 'no-healthcheck' | 'short-stop-grace' | 'no-room' | 'single-manager';
  service: string;
  /** The drained nodes concerned (hostnames, in plan order). */
  nodes: string[];
  /** What is wrong, e.g. "web has 1 replica (on node2)". */
  problem: string;
  /** What drydock will do about it (or what the operator can do). */
  action: string;
}
