// Over ~400 lines on purpose: the schema is the one home of every field, default, bound and
// description (types, defaults and the JSON Schema derive from it), so it is not scattered.
import { z } from 'zod';
import { parseDuration } from '../shared/parse-duration.js';
import { rawDuration, rawDurationOrZero } from './duration.js';

/**
 * The runbook schema: the single source of truth for the YAML format. Every field has a
 * description (shown in editors through the generated JSON Schema) and, where it makes sense,
 * a default, written here and nowhere else. `parse.ts` validates against it; `json-schema.ts`
 * publishes it.
 *
 * This module is pure: no I/O, no transport imports.
 */

/** How long a converging check may wait; each check states its own default. */
const checkTimeout = (fallback: string) =>
  rawDuration.default(fallback).describe('How long this check may wait for convergence.');

/** Checks get their wait in ms: `timeout` becomes `timeoutMs`. */
function convertTimeout<T extends { timeout: number | string }>({ timeout, ...rest }: T) {
  return { timeoutMs: parseDuration(timeout), ...rest };
}

/**
 * Options per check, keyed by check name: this record is the catalogue's list of names, and each
 * entry's schema is the only place that check's defaults are written. Each schema's output is
 * what the check receives (durations in ms), so normalization and the catalogue's defaults are
 * derived from it (`CheckOptions`, `normalizeCheckOptions`, `defaultCheckOptions`).
 */
export const CHECK_OPTION_SCHEMAS = {
  'node-ready': z
    .strictObject({ timeout: checkTimeout('2m') })
    .describe('Node Status.State is ready, availability as expected, address as recorded.')
    .transform(convertTimeout),
  'manager-quorum': z
    .strictObject({ timeout: checkTimeout('1m') })
    .describe('Every manager reachable, exactly one leader, quorum held.')
    .transform(convertTimeout),
  'engine-version': z
    .strictObject({
      expected: z
        .string()
        .optional()
        .describe('Expected engine version after an upgrade stage; may use ${variables}.'),
      managersNotBehindWorkers: z.boolean().default(true),
    })
    .describe('Engine version equals the target; managers never behind workers.'),
  'swarm-state': z
    .strictObject({ timeout: checkTimeout('1m') })
    .describe('docker info on the node: Swarm.LocalNodeState is active and Swarm.Error is empty.')
    .transform(convertTimeout),
  'reboot-observed': z
    .strictObject({})
    .describe('The node really rebooted when a reboot stage ran (boot id changed).'),
  'services-converged': z
    .strictObject({
      timeout: checkTimeout('10m'),
      remediate: z
        .boolean()
        .default(false)
        .describe('In unattended mode, run `docker service update --force` on a stuck service.'),
      ignore: z.array(z.string()).default([]).describe('Service names not to check.'),
    })
    .describe('Every service at its desired count, none stuck mid-update, no failed task on the node.')
    .transform(convertTimeout),
  'ingress-peers': z
    .strictObject({ timeout: checkTimeout('2m') })
    .describe("The ingress network's peer list, asked of every node's engine, is the Ready nodes.")
    .transform(convertTimeout),
  'published-ports': z
    .strictObject({
      timeout: checkTimeout('1m'),
      paths: z
        .record(z.string(), z.string())
        .default({})
        .describe('HTTP path to GET per published port, e.g. {"8080": "/"}; TCP connect otherwise.'),
      fromCluster: z.boolean().default(false).describe('Also probe from inside the cluster.'),
      connectTimeout: rawDuration.default('3s'),
    })
    .describe('Every published port answers on every node that should serve it.')
    .transform(({ connectTimeout, ...rest }) => ({
      ...convertTimeout(rest),
      connectTimeoutMs: parseDuration(connectTimeout),
    })),
  'ingress-mesh': z
    .strictObject({ timeout: checkTimeout('2m') })
    .describe(
      'ingress-sbox present, DOCKER-INGRESS holds every port, IPVS backends, same iptables backend; waits while the engine re-programs it.',
    )
    .transform(convertTimeout),
  'overlay-dns': z
    .strictObject({
      timeout: checkTimeout('1m'),
      services: z.array(z.string()).default([]).describe('Services to resolve; all by default.'),
    })
    .describe('tasks.<service> resolves to the current task IPs from the node.')
    .transform(convertTimeout),
  'ip-route': z
    .strictObject({
      onDiff: z
        .enum(['warn', 'fail'])
        .default('warn')
        .describe('What any other route difference is: warn (default) or fail.'),
      requireDefaultRoute: z
        .boolean()
        .default(true)
        .describe('Fail when the default route recorded before the run is gone or changed.'),
    })
    .describe('ip route unchanged since the run began; docker routes present; ip_forward on.'),
  'clock-skew': z
    .strictObject({ max: rawDuration.default('2s') })
    .describe('Clock skew between nodes under a threshold.')
    .transform(({ max }) => ({ maxMs: parseDuration(max) })),
};

export type CheckName = keyof typeof CHECK_OPTION_SCHEMAS;
/** The names of every check in the catalogue, in catalogue order. A new one forces a handler in checks/. */
export const CHECK_NAMES = Object.keys(CHECK_OPTION_SCHEMAS) as [CheckName, ...CheckName[]];
export const checkName = z.enum(CHECK_NAMES).describe('The name of a check from the catalogue.');

/** What each check receives: its options with every default applied, durations in ms. */
export type CheckOptions = { [N in CheckName]: z.output<(typeof CHECK_OPTION_SCHEMAS)[N]> };

/** In a runbook every check's options are optional: an unwritten entry gets its schema's defaults. */
export const rawCheckOptions = z
  .strictObject(
    Object.fromEntries(CHECK_NAMES.map((name) => [name, CHECK_OPTION_SCHEMAS[name].optional()])) as {
      [N in CheckName]: z.ZodOptional<(typeof CHECK_OPTION_SCHEMAS)[N]>;
    },
  )
  // Why: prefault, not default: zod leaves a default out of the JSON Schema of a transforming object.
  .prefault({});

const checkList = z.array(checkName);

export const rawChecks = z
  .strictObject({
    preflight: checkList
      .optional()
      .describe('Checks before the run starts (cluster-wide). Default: the afterNode list.'),
    between: checkList
      .default(['node-ready', 'ip-route'])
      .describe('Checks after every stage, on the node being maintained.'),
    afterNode: checkList
      .default(['node-ready', 'manager-quorum', 'swarm-state', 'services-converged', 'ip-route'])
      .describe('Checks after each node is done, across the cluster.'),
    options: rawCheckOptions.describe('Options per check.'),
  })
  .prefault({})
  .describe('Which checks run between stages, after each node and before the run.');

const stageCommon = {
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'a name of letters, digits, - and _')
    .optional()
    .describe('Stage name shown in plans and logs; defaults to the kind. Unique per runbook.'),
  description: z.string().optional().describe('What this stage is for, shown in the plan.'),
  checks: z
    .boolean()
    .default(true)
    .describe('Run the between-stage checks after this stage (true by default).'),
};

/**
 * When a disruptive stage is already done. A string is a command; an object names built-in
 * conditions (several: all must hold). Every condition runs on the node and must be read-only:
 * `run` runs them before the stage, and `plan --evaluate-skips` runs them too.
 */
export const rawSkipIf = z
  .union([
    z.string().min(1),
    z
      .strictObject({
        command: z
          .string()
          .min(1)
          .optional()
          .describe('Read-only command run on the node: exit 0 skips the stage (its output is the reason).'),
        engineVersion: z
          .string()
          .min(1)
          .optional()
          .describe('Skip when the node\'s engine already runs this version, e.g. "${engine_version}".'),
        noUpgradablePackages: z
          .literal(true)
          .optional()
          .describe('Skip when `apt-get -s upgrade` on the node lists no package to upgrade.'),
      })
      .refine((c) => Object.keys(c).length > 0, {
        error: 'name a condition: command, engineVersion or noUpgradablePackages',
      }),
  ])
  .optional()
  .describe(
    'Skip this stage when it is already done: a read-only command (exit 0 = skip), or built-ins { engineVersion, noUpgradablePackages }. A node whose every run and reboot stage is skipped is skipped whole (not drained).',
  );

export const rawDrainStage = z
  .strictObject({
    kind: z.literal('drain'),
    ...stageCommon,
    timeout: rawDuration
      .default('10m')
      .describe('How long to wait for tasks to move and services to converge.'),
    moveFirst: z
      .boolean()
      .default(true)
      .describe(
        'Start replacements before stopping anything: pause the node, scale each replicated service up by its tasks on the node, wait until the new tasks run (healthy, where there is a HEALTHCHECK) and are ingress backends on every node, then drain and scale back. Journaled; falls back to a plain drain, with a note, when Swarm cannot place them.',
      ),
    moveTimeout: rawDuration
      .default('3m')
      .describe(
        "How long to wait for the replacements to run before falling back to a plain drain; replacements still starting then (placed, not yet running or healthy) are given up to the drain's timeout.",
      ),
  })
  .describe('Set the node to drain and wait until its tasks have moved and services are at full count.');

export const rawRunStage = z
  .strictObject({
    kind: z.literal('run'),
    ...stageCommon,
    commands: z
      .array(z.string().min(1))
      .min(1)
      .describe('Shell commands run in order over SSH; ${variables} are substituted, shell-quoted.'),
    sudo: z.boolean().optional().describe('Run with sudo (default: connection.ssh.sudo).'),
    timeout: rawDuration.default('10m').describe('Per-command timeout.'),
    retries: z.number().int().min(0).max(10).default(0).describe('Retries per command on failure.'),
    retryDelay: rawDurationOrZero.default('5s'),
    skipIf: rawSkipIf,
  })
  .describe('Run shell commands on the node over SSH.');

export const rawLocalStage = z
  .strictObject({
    kind: z.literal('local'),
    ...stageCommon,
    commands: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        "Shell commands run in order on the operator's machine (/bin/sh); ${variables}, ${node.name} … substituted, shell-quoted.",
      ),
    timeout: rawDuration.default('1m').describe('Per-command timeout.'),
    retries: z.number().int().min(0).max(10).default(0).describe('Retries per command on failure.'),
    retryDelay: rawDurationOrZero.default('5s'),
    until: z
      .strictObject({
        command: z
          .string()
          .min(1)
          .describe(
            'A condition, re-run after the commands until it exits 0 (e.g. the LB shows no sessions).',
          ),
        timeout: rawDuration.default('2m').describe('How long to wait for the condition.'),
        interval: rawDuration.default('1s').describe('Time between tries.'),
      })
      .optional()
      .describe('Wait (bounded) until a local condition holds; fails the stage when the timeout passes.'),
  })
  .describe("Run shell commands on the operator's machine, e.g. take the node out of a load balancer.");

export const rawRebootStage = z
  .strictObject({
    kind: z.literal('reboot'),
    ...stageCommon,
    when: z
      .enum(['always', 'if-required'])
      .default('if-required')
      .describe('Reboot always, or only if the required-file exists on the node.'),
    requiredFile: z.string().default('/var/run/reboot-required'),
    command: z.string().default('reboot').describe('The command that reboots the node.'),
    engineLog: z
      .string()
      .default('journalctl -u docker -n 20 --no-pager')
      .describe(
        "Prints the engine's last log lines; quoted in the halt when the node came back but its engine does not answer.",
      ),
    returnTimeout: rawDuration
      .default('10m')
      .describe('How long to wait for the node to come back (SSH up, boot id changed).'),
    skipIf: rawSkipIf,
  })
  .describe('Reboot the node and confirm it really rebooted (boot id changed).');

export const rawActivateStage = z
  .strictObject({
    kind: z.literal('activate'),
    ...stageCommon,
    timeout: rawDuration.default('5m').describe('How long to wait for the node to be Ready and Active.'),
  })
  .describe('Set availability back to active (only for nodes this run drained).');

export const rawChecksStage = z
  .strictObject({
    kind: z.literal('checks'),
    ...stageCommon,
    run: z.array(checkName).min(1).describe('Checks to run as this stage.'),
  })
  .describe('Run checks as a stage of their own.');

/** The longest pause stage: a longer wait belongs between maintenance windows, not inside one. */
export const MAX_PAUSE = '1h';

export const rawPauseStage = z
  .strictObject({
    kind: z.literal('pause'),
    ...stageCommon,
    duration: rawDuration
      .refine((raw) => isPauseLength(raw), { error: `a pause lasts more than 0s and at most ${MAX_PAUSE}` })
      .describe(`How long to wait (soak time), at most ${MAX_PAUSE}.`),
    reason: z.string().min(1).optional().describe('Why the run waits here, shown in the plan and the run.'),
  })
  .describe('Wait for a fixed time, e.g. to let the node soak. Interactive runs may skip the rest of it.');

function isPauseLength(raw: number | string): boolean {
  try {
    const ms = parseDuration(raw);
    return ms > 0 && ms <= parseDuration(MAX_PAUSE);
  } catch {
    return false;
  }
}

export const rawPromptStage = z
  .strictObject({
    kind: z.literal('prompt'),
    ...stageCommon,
    message: z.string().min(1).describe('The question for the operator.'),
    unattended: z
      .enum(['continue', 'halt'])
      .default('continue')
      .describe('What an unattended run does at this gate.'),
  })
  .describe('A human gate: in interactive mode, ask the operator before going on.');

export const STAGE_KINDS = [
  'drain',
  'run',
  'reboot',
  'activate',
  'checks',
  'pause',
  'prompt',
  'local',
] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

export const rawStage = z.discriminatedUnion('kind', [
  rawDrainStage,
  rawRunStage,
  rawRebootStage,
  rawActivateStage,
  rawChecksStage,
  rawPauseStage,
  rawPromptStage,
  rawLocalStage,
]);

export const rawVariable = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z
    .strictObject({
      value: z.union([z.string(), z.number(), z.boolean()]).optional(),
      env: z.string().optional().describe('Read the value from this environment variable.'),
      default: z.string().optional().describe('Used when env is unset.'),
      secret: z.boolean().default(false).describe('Never printed: masked as ***** in plans and logs.'),
    })
    .describe('A variable with a source and secrecy flag.'),
]);

export const rawSsh = z
  .strictObject({
    user: z.string().default('root'),
    port: z.number().int().min(1).max(65535).default(22),
    identityFile: z.string().optional().describe('Private key file; ~ is expanded.'),
    agent: z.boolean().default(true).describe('Use the ssh-agent at SSH_AUTH_SOCK when set.'),
    knownHosts: z.string().default('~/.ssh/known_hosts').describe('known_hosts file to verify host keys.'),
    hostKeyPolicy: z
      .enum(['strict', 'accept-new', 'insecure-ignore'])
      .default('strict')
      .describe('strict verifies against known_hosts (default); accept-new records unknown hosts.'),
    sshConfig: z.boolean().default(true).describe('Read Host aliases from ~/.ssh/config.'),
    sudo: z.boolean().default(false).describe('Default sudo for run stages.'),
    connectTimeout: rawDuration.default('10s'),
    hosts: z
      .record(z.string(), z.string())
      .default({})
      .describe('SSH host per node name when it differs from the node address.'),
  })
  .prefault({});

export const rawDocker = z
  .strictObject({
    via: z
      .enum(['ssh', 'tcp', 'env'])
      .default('ssh')
      .describe('ssh: the unix socket on a manager over SSH; tcp: host (with TLS); env: DOCKER_HOST.'),
    socket: z.string().default('/var/run/docker.sock').describe('Remote socket path for via: ssh.'),
    managers: z
      .array(z.string())
      .default([])
      .describe('Manager addresses to reach the API through (via: ssh); others are found from the swarm.'),
    host: z
      .string()
      .optional()
      .describe(
        'via: tcp endpoint: tcp://host:2376, or per manager tcp://${node.addr}:2376 (with managers).',
      ),
    tls: z
      .strictObject({
        ca: z
          .string()
          .optional()
          .describe("CA that signed the engine's certificate (PEM; relative to the runbook)."),
        cert: z.string().optional().describe('Client certificate (PEM; relative to the runbook).'),
        key: z.string().optional().describe('Client private key (PEM; relative to the runbook).'),
        verify: z.boolean().default(true).describe("Verify the engine's certificate against ca."),
      })
      .optional()
      .describe('TLS for via: tcp (dockerd --tlsverify); port 2376 or https:// alone also means TLS.'),
  })
  .prefault({});

export const rawTargets = z
  .strictObject({
    roles: z
      .array(z.enum(['manager', 'worker']))
      .default(['manager', 'worker'])
      .describe('Node roles to include.'),
    labels: z.record(z.string(), z.string()).default({}).describe('Node labels that must all match.'),
    names: z.array(z.string()).optional().describe('Only these nodes (hostnames).'),
    exclude: z.array(z.string()).default([]).describe('Nodes to leave alone.'),
  })
  .prefault({})
  .describe('Which nodes the run maintains. Default: all nodes.');

export const rawRollout = z
  .strictObject({
    concurrency: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('Workers per batch. Managers are always one at a time.'),
    order: z
      .array(z.string())
      .optional()
      .describe('Explicit node order. Managers still go one at a time and the leader last.'),
    soakBetweenNodes: rawDurationOrZero
      .default(0)
      .describe('Wait after each node (or batch) before the next.'),
    window: z
      .strictObject({
        start: z.string().optional().describe('ISO 8601 start of the maintenance window.'),
        end: z.string().optional().describe('ISO 8601 end; no new node is started after it.'),
      })
      .optional(),
  })
  .prefault({});

export const NOTIFY_EVENTS = ['run-start', 'node-done', 'halt', 'interrupted', 'run-end'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export const rawWebhook = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .describe(
        'Webhook URL, usually ${env:NAME} or ${variable}. A secret: never printed; plans show its host only.',
      ),
    format: z
      .enum(['json', 'slack'])
      .default('json')
      .describe(
        "json: drydock's versioned event document; slack: an incoming-webhook payload (text + blocks).",
      ),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .default(['run-start', 'halt', 'run-end'])
      .describe('Which events to send.'),
    required: z
      .boolean()
      .default(false)
      .describe(
        'Refuse the run when the run-start message cannot be delivered ("no unannounced maintenance").',
      ),
    timeout: rawDuration.default('5s').describe('Per attempt; delivery never stalls the run.'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe('Further attempts after a failure, with backoff.'),
  })
  .describe('A webhook to notify.');

export const rawRunbook = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).describe('Runbook format version.'),
    name: z.string().min(1).describe('Short name of this runbook.'),
    description: z.string().optional(),
    targets: rawTargets,
    rollout: rawRollout,
    connection: z.strictObject({ ssh: rawSsh, docker: rawDocker }).prefault({}),
    variables: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _, not starting with a digit'),
        rawVariable,
      )
      .default({})
      .describe('Values substituted into commands as ${name}; shell-quoted.'),
    checks: rawChecks,
    onFailure: z.literal('halt').default('halt').describe('What to do on a failure: halt (stop there).'),
    stages: z.array(rawStage).min(1).describe('Stages run on each node, in order.'),
    notify: z.array(rawWebhook).default([]).describe('Webhooks told about the run (chat, paging, tickets).'),
  })
  .describe('A drydock runbook: the stages of a rolling maintenance window.');

export type RawRunbook = z.input<typeof rawRunbook>;
/** The runbook after schema defaults, before normalization (durations still raw, except in check options). */
export type ParsedRunbook = z.output<typeof rawRunbook>;
export type ParsedStage = z.output<typeof rawStage>;
