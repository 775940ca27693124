import type { CheckName, ParsedRunbook, StageKind } from './schema.js';

export type { CheckName, StageKind } from './schema.js';

/**
 * The normalized runbook: schema defaults applied, durations in milliseconds, stage names
 * filled in, variables resolved to a single shape. Produced by `parseRunbook`.
 */
export interface Runbook {
  /** Path as given by the user (for messages). */
  file: string;
  /** sha256 of the file's bytes: resume refuses a runbook that changed. */
  hash: string;
  name: string;
  description?: string;
  targets: ParsedRunbook['targets'];
  rollout: {
    concurrency: number;
    order?: string[];
    soakBetweenNodesMs: number;
    window?: { start?: Date; end?: Date };
  };
  connection: {
    ssh: Omit<ParsedRunbook['connection']['ssh'], 'connectTimeout'> & { connectTimeoutMs: number };
    docker: ParsedRunbook['connection']['docker'];
  };
  variables: Variable[];
  checks: {
    preflight: CheckName[];
    between: CheckName[];
    afterNode: CheckName[];
    options: CheckOptions;
  };
  onFailure: 'halt';
  stages: Stage[];
}

export interface Variable {
  name: string;
  /** undefined when it comes from an environment variable that is unset and has no default. */
  value: string | undefined;
  secret: boolean;
  /** Where the value comes from, for plan output. */
  source: { type: 'literal' } | { type: 'env'; env: string; usedDefault: boolean };
}

/** Normalized check options: durations in ms, defaults applied. */
export interface CheckOptions {
  'node-ready': { timeoutMs: number };
  'manager-quorum': { timeoutMs: number };
  'engine-version': { expected?: string; managersNotBehindWorkers: boolean };
  'swarm-state': { timeoutMs: number };
  'reboot-observed': Record<string, never>;
  'services-converged': { timeoutMs: number; remediate: boolean; ignore: string[] };
  'ingress-peers': { timeoutMs: number };
  'published-ports': {
    timeoutMs: number;
    paths: Record<string, string>;
    fromCluster: boolean;
    connectTimeoutMs: number;
  };
  'ingress-mesh': Record<string, never>;
  'overlay-dns': { timeoutMs: number; services: string[] };
  'ip-route': { onDiff: 'warn' | 'fail'; requireDefaultRoute: boolean };
  'clock-skew': { maxMs: number };
}

interface StageBase<K extends StageKind> {
  kind: K;
  /** Unique within the runbook; defaults to the kind (suffixed -2, -3 … on repeats). */
  name: string;
  description?: string;
  /** Run the between-stage checks after this stage. */
  checks: boolean;
}

export interface DrainStage extends StageBase<'drain'> {
  timeoutMs: number;
}
export interface RunStage extends StageBase<'run'> {
  /** Command templates; `${var}` substituted (shell-quoted) at plan and run time. */
  commands: string[];
  sudo: boolean;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
}
export interface RebootStage extends StageBase<'reboot'> {
  when: 'always' | 'if-required';
  requiredFile: string;
  command: string;
  returnTimeoutMs: number;
}
export interface ActivateStage extends StageBase<'activate'> {
  timeoutMs: number;
}
export interface ChecksStage extends StageBase<'checks'> {
  run: CheckName[];
}
export interface PauseStage extends StageBase<'pause'> {
  durationMs: number;
  /** Why the run waits here, for the plan and the operator. */
  reason?: string;
}
export interface PromptStage extends StageBase<'prompt'> {
  message: string;
  unattended: 'continue' | 'halt';
}

/** A stage: a discriminated union on `kind`, dispatched exhaustively. */
export type Stage =
  | DrainStage
  | RunStage
  | RebootStage
  | ActivateStage
  | ChecksStage
  | PauseStage
  | PromptStage;

/** Maps each stage kind to its stage type, for exhaustive handler tables. */
export type StageOfKind<K extends StageKind> = Extract<Stage, { kind: K }>;
