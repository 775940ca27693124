import type { CheckName, CheckOptions, NotifyEvent, ParsedRunbook, StageKind } from './schema.js';

export type { CheckName, CheckOptions, NotifyEvent, StageKind } from './schema.js';

/**
 * The normalized runbook: schema defaults applied, durations in milliseconds, stage names
 * filled in, variables resolved to a single shape. Produced by `parseRunbook`.
 */
export interface Runbook {
  /** Path as given by the user (for messages). */
  file: string;
  /** sha256 of the file's bytes: resume refuses a runbook that changed. */
  hash: string;
  /** sha256 of the parsed runbook without `rollout.window`: resume accepts a moved window. */
  hashOutsideWindow?: string;
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
  notify: Webhook[];
}

/** A webhook with its URL resolved from the environment. The URL is a secret: print `host` only. */
export interface Webhook {
  /** undefined when a referenced environment variable or runbook variable has no value. */
  url: string | undefined;
  /** Host of the URL (or `<unset: $NAME>`), safe to print. */
  host: string;
  format: 'json' | 'slack';
  events: NotifyEvent[];
  required: boolean;
  timeoutMs: number;
  retries: number;
}

export interface Variable {
  name: string;
  /** undefined when it comes from an environment variable that is unset and has no default. */
  value: string | undefined;
  secret: boolean;
  /** Where the value comes from, for plan output. */
  source: { type: 'literal' } | { type: 'env'; env: string; usedDefault: boolean };
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
  /** Start replacements on other nodes (scale up, wait) before the drain stops the node's tasks. */
  moveFirst: boolean;
  moveTimeoutMs: number;
}
export interface RunStage extends StageBase<'run'> {
  /** Command templates; `${var}` substituted (shell-quoted) at plan and run time. */
  commands: string[];
  sudo: boolean;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** Skip when every condition holds (empty: never skipped). */
  skipIf: SkipCondition[];
}
/** Commands on the operator's machine (through execa, transport/local-exec.ts). */
export interface LocalStage extends StageBase<'local'> {
  /** Command templates; `${var}` substituted (shell-quoted) at plan and run time. */
  commands: string[];
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** A condition re-run until it exits 0, within `timeoutMs`. */
  until?: { command: string; timeoutMs: number; intervalMs: number };
}
export interface RebootStage extends StageBase<'reboot'> {
  when: 'always' | 'if-required';
  requiredFile: string;
  command: string;
  /** Prints the engine's last log lines (quoted when the engine does not come back). */
  engineLog: string;
  returnTimeoutMs: number;
  skipIf: SkipCondition[];
}

/** One `skipIf` condition; each runs on the node, read-only. Templates are substituted at plan time. */
export type SkipCondition =
  | { kind: 'command'; command: string }
  | { kind: 'engine-version'; version: string }
  | { kind: 'no-upgradable-packages' };
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
  | LocalStage
  | RebootStage
  | ActivateStage
  | ChecksStage
  | PauseStage
  | PromptStage;

/** Maps each stage kind to its stage type, for exhaustive handler tables. */
export type StageOfKind<K extends StageKind> = Extract<Stage, { kind: K }>;
