import { parseDuration } from '../shared/parse-duration.js';
import type { ParsedRunbook, ParsedStage } from './schema.js';
import type { CheckOptions, Runbook, Stage, Variable } from './types.js';

/**
 * Schema output → the normalized `Runbook`: durations in ms, stage names filled in, sudo and
 * preflight defaults applied, variables resolved. Pure; the environment is passed in.
 * Assumes the rules passed (e.g. window dates parse), so it does not re-validate.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface NormalizeContext {
  file: string;
  hash: string;
  env: Env;
}

/** Default wait for converging checks that don't set `timeout`. */
export const DEFAULT_CHECK_TIMEOUT_MS: Record<
  | 'node-ready'
  | 'manager-quorum'
  | 'swarm-state'
  | 'services-converged'
  | 'ingress-peers'
  | 'published-ports'
  | 'overlay-dns',
  number
> = {
  'node-ready': 120_000,
  'manager-quorum': 60_000,
  'swarm-state': 60_000,
  'services-converged': 600_000,
  'ingress-peers': 120_000,
  'published-ports': 60_000,
  'overlay-dns': 60_000,
};

/** Durations are parsed in one place (shared with the CLI's --lock-ttl). */
export { parseDuration };

/** Effective stage names: explicit names kept; defaults are the kind, suffixed -2, -3 … on repeats. */
export function nameStages(stages: readonly Pick<ParsedStage, 'kind' | 'name'>[]): string[] {
  const taken = new Set(stages.flatMap((stage) => (stage.name ? [stage.name] : [])));
  return stages.map((stage) => {
    if (stage.name) return stage.name;
    let name: string = stage.kind;
    for (let n = 2; taken.has(name); n++) name = `${stage.kind}-${n}`;
    taken.add(name);
    return name;
  });
}

/** Resolves one variable against the environment; an unset env without default stays undefined. */
export function resolveVariable(name: string, raw: ParsedRunbook['variables'][string], env: Env): Variable {
  if (typeof raw !== 'object')
    return { name, value: String(raw), secret: false, source: { type: 'literal' } };
  if (raw.env !== undefined) {
    const fromEnv = env[raw.env];
    const usedDefault = fromEnv === undefined && raw.default !== undefined;
    return {
      name,
      value: fromEnv ?? raw.default,
      secret: raw.secret,
      source: { type: 'env', env: raw.env, usedDefault },
    };
  }
  return {
    name,
    value: raw.value === undefined ? undefined : String(raw.value),
    secret: raw.secret,
    source: { type: 'literal' },
  };
}

function normalizeStage(stage: ParsedStage, name: string, defaultSudo: boolean): Stage {
  const base = {
    name,
    checks: stage.checks,
    ...(stage.description ? { description: stage.description } : {}),
  };
  switch (stage.kind) {
    case 'drain':
      return { kind: 'drain', ...base, timeoutMs: parseDuration(stage.timeout) };
    case 'run':
      return {
        kind: 'run',
        ...base,
        commands: stage.commands,
        sudo: stage.sudo ?? defaultSudo,
        timeoutMs: parseDuration(stage.timeout),
        retries: stage.retries,
        retryDelayMs: parseDuration(stage.retryDelay),
      };
    case 'reboot':
      return {
        kind: 'reboot',
        ...base,
        when: stage.when,
        requiredFile: stage.requiredFile,
        command: stage.command,
        returnTimeoutMs: parseDuration(stage.returnTimeout),
      };
    case 'activate':
      return { kind: 'activate', ...base, timeoutMs: parseDuration(stage.timeout) };
    case 'checks':
      return { kind: 'checks', ...base, run: stage.run };
    case 'pause':
      return { kind: 'pause', ...base, durationMs: parseDuration(stage.duration) };
    case 'prompt':
      return { kind: 'prompt', ...base, message: stage.message, unattended: stage.unattended };
  }
}

function timeoutOf(
  options: { timeout?: number | string | undefined } | undefined,
  check: keyof typeof DEFAULT_CHECK_TIMEOUT_MS,
): number {
  return options?.timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS[check] : parseDuration(options.timeout);
}

/** Check options with every default filled in, durations in ms. */
export function normalizeCheckOptions(raw: ParsedRunbook['checks']['options']): CheckOptions {
  const engine = raw['engine-version'];
  const services = raw['services-converged'];
  const ports = raw['published-ports'];
  const dns = raw['overlay-dns'];
  const route = raw['ip-route'];
  return {
    'node-ready': { timeoutMs: timeoutOf(raw['node-ready'], 'node-ready') },
    'manager-quorum': { timeoutMs: timeoutOf(raw['manager-quorum'], 'manager-quorum') },
    'engine-version': {
      ...(engine?.expected !== undefined ? { expected: engine.expected } : {}),
      managersNotBehindWorkers: engine?.managersNotBehindWorkers ?? true,
    },
    'swarm-state': { timeoutMs: timeoutOf(raw['swarm-state'], 'swarm-state') },
    'reboot-observed': {},
    'services-converged': {
      timeoutMs: timeoutOf(services, 'services-converged'),
      remediate: services?.remediate ?? false,
      ignore: services?.ignore ?? [],
    },
    'ingress-peers': { timeoutMs: timeoutOf(raw['ingress-peers'], 'ingress-peers') },
    'published-ports': {
      timeoutMs: timeoutOf(ports, 'published-ports'),
      paths: ports?.paths ?? {},
      fromCluster: ports?.fromCluster ?? false,
      connectTimeoutMs: parseDuration(ports?.connectTimeout ?? '3s'),
    },
    'ingress-mesh': {},
    'overlay-dns': { timeoutMs: timeoutOf(dns, 'overlay-dns'), services: dns?.services ?? [] },
    'ip-route': { onDiff: route?.onDiff ?? 'warn', requireDefaultRoute: route?.requireDefaultRoute ?? true },
    'clock-skew': { maxMs: parseDuration(raw['clock-skew']?.max ?? '2s') },
  };
}

/** The normalized runbook. */
export function normalizeRunbook(parsed: ParsedRunbook, context: NormalizeContext): Runbook {
  const { connectTimeout, ...ssh } = parsed.connection.ssh;
  const names = nameStages(parsed.stages);
  const window = parsed.rollout.window;
  const runbook: Runbook = {
    file: context.file,
    hash: context.hash,
    name: parsed.name,
    targets: parsed.targets,
    rollout: {
      concurrency: parsed.rollout.concurrency,
      soakBetweenNodesMs: parseDuration(parsed.rollout.soakBetweenNodes),
      ...(parsed.rollout.order ? { order: parsed.rollout.order } : {}),
      ...(window && (window.start || window.end)
        ? {
            window: {
              ...(window.start ? { start: new Date(window.start) } : {}),
              ...(window.end ? { end: new Date(window.end) } : {}),
            },
          }
        : {}),
    },
    connection: {
      ssh: { ...ssh, connectTimeoutMs: parseDuration(connectTimeout) },
      docker: parsed.connection.docker,
    },
    variables: Object.entries(parsed.variables).map(([name, raw]) => resolveVariable(name, raw, context.env)),
    checks: {
      preflight: parsed.checks.preflight ?? parsed.checks.afterNode,
      between: parsed.checks.between,
      afterNode: parsed.checks.afterNode,
      options: normalizeCheckOptions(parsed.checks.options),
    },
    onFailure: parsed.onFailure,
    stages: parsed.stages.map((stage, index) =>
      normalizeStage(stage, names[index] ?? stage.kind, parsed.connection.ssh.sudo),
    ),
  };
  if (parsed.description !== undefined) runbook.description = parsed.description;
  return runbook;
}
