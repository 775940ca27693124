import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDuration } from '../shared/parse-duration.js';
import { CHECK_NAMES, CHECK_OPTION_SCHEMAS, type ParsedRunbook, type ParsedStage } from './schema.js';
import type { CheckOptions, Runbook, SkipCondition, Stage, Variable, Webhook } from './types.js';
import { resolveWebhookUrl, webhookHost } from './webhook-url.js';

/**
 * Schema output → the normalized `Runbook`: durations in ms, stage names filled in, sudo and
 * preflight defaults applied, variables resolved. Pure; the environment is passed in.
 * Assumes the rules passed (e.g. window dates parse), so it does not re-validate.
 */

export { parseDuration };

export type Env = Readonly<Record<string, string | undefined>>;

export interface NormalizeContext {
  file: string;
  hash: string;
  env: Env;
}

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

/** `skipIf: "cmd"` is `{ command: cmd }`; an object's conditions in a fixed order. */
function normalizeSkipIf(raw: ParsedSkipIf): SkipCondition[] {
  if (raw === undefined) return [];
  if (typeof raw === 'string') return [{ kind: 'command', command: raw }];
  return [
    ...(raw.engineVersion !== undefined
      ? [{ kind: 'engine-version' as const, version: raw.engineVersion }]
      : []),
    ...(raw.noUpgradablePackages ? [{ kind: 'no-upgradable-packages' as const }] : []),
    ...(raw.command !== undefined ? [{ kind: 'command' as const, command: raw.command }] : []),
  ];
}
type ParsedSkipIf = Extract<ParsedStage, { kind: 'run' }>['skipIf'];

function normalizeStage(stage: ParsedStage, name: string, defaultSudo: boolean): Stage {
  const base = {
    name,
    checks: stage.checks,
    ...(stage.description ? { description: stage.description } : {}),
  };
  switch (stage.kind) {
    case 'drain':
      return {
        kind: 'drain',
        ...base,
        timeoutMs: parseDuration(stage.timeout),
        moveFirst: stage.moveFirst,
        moveTimeoutMs: parseDuration(stage.moveTimeout),
      };
    case 'run':
      return {
        kind: 'run',
        ...base,
        commands: stage.commands,
        sudo: stage.sudo ?? defaultSudo,
        timeoutMs: parseDuration(stage.timeout),
        retries: stage.retries,
        retryDelayMs: parseDuration(stage.retryDelay),
        skipIf: normalizeSkipIf(stage.skipIf),
      };
    case 'local':
      return {
        kind: 'local',
        ...base,
        commands: stage.commands,
        timeoutMs: parseDuration(stage.timeout),
        retries: stage.retries,
        retryDelayMs: parseDuration(stage.retryDelay),
        ...(stage.until
          ? {
              until: {
                command: stage.until.command,
                timeoutMs: parseDuration(stage.until.timeout),
                intervalMs: parseDuration(stage.until.interval),
              },
            }
          : {}),
      };
    case 'reboot':
      return {
        kind: 'reboot',
        ...base,
        when: stage.when,
        requiredFile: stage.requiredFile,
        command: stage.command,
        engineLog: stage.engineLog,
        returnTimeoutMs: parseDuration(stage.returnTimeout),
        skipIf: normalizeSkipIf(stage.skipIf),
      };
    case 'activate':
      return { kind: 'activate', ...base, timeoutMs: parseDuration(stage.timeout) };
    case 'checks':
      return { kind: 'checks', ...base, run: stage.run };
    case 'pause':
      return {
        kind: 'pause',
        ...base,
        durationMs: parseDuration(stage.duration),
        ...(stage.reason ? { reason: stage.reason } : {}),
      };
    case 'prompt':
      return { kind: 'prompt', ...base, message: stage.message, unattended: stage.unattended };
  }
}

/**
 * Options for every check: what the runbook wrote (already converted by the check's schema), else
 * its schema's defaults. The defaults live only in `CHECK_OPTION_SCHEMAS`.
 */
export function normalizeCheckOptions(written: ParsedRunbook['checks']['options']): CheckOptions {
  // Why: fromEntries loses the per-name types; each entry is its own check's schema output.
  return Object.fromEntries(
    CHECK_NAMES.map((name) => [name, written[name] ?? CHECK_OPTION_SCHEMAS[name].parse({})]),
  ) as CheckOptions;
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
      docker: resolveTlsPaths(parsed.connection.docker, context.file),
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
    notify: [],
  };
  runbook.notify = parsed.notify.map((hook) => normalizeWebhook(hook, runbook.variables, context.env));
  if (parsed.description !== undefined) runbook.description = parsed.description;
  return runbook;
}

function normalizeWebhook(hook: ParsedRunbook['notify'][number], variables: Variable[], env: Env): Webhook {
  const resolved = resolveWebhookUrl(hook.url, variables, env);
  return {
    url: resolved.url,
    host: resolved.url === undefined ? `<unset: ${resolved.missing.join(', ')}>` : webhookHost(resolved.url),
    format: hook.format,
    events: hook.events,
    required: hook.required,
    timeoutMs: parseDuration(hook.timeout),
    retries: hook.retries,
  };
}

/** TLS files are read relative to the runbook's folder, so a runbook works from any directory. */
function resolveTlsPaths(
  docker: ParsedRunbook['connection']['docker'],
  file: string,
): ParsedRunbook['connection']['docker'] {
  const tls = docker.tls;
  if (!tls) return docker;
  const resolveOne = (path: string | undefined) =>
    path === undefined || path.startsWith('~') || isAbsolute(path) ? path : resolve(dirname(file), path);
  const resolved = { ...tls, ca: resolveOne(tls.ca), cert: resolveOne(tls.cert), key: resolveOne(tls.key) };
  for (const field of ['ca', 'cert', 'key'] as const)
    if (resolved[field] === undefined) delete resolved[field];
  return { ...docker, tls: resolved };
}
