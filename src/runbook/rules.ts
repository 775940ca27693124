import { nameStages } from './normalize.js';
import type { Rule, RuleContext } from './rule-context.js';
import {
  checkNumericVariables,
  checkSecretLength,
  checkSecretPlacement,
  checkShellPlaces,
  checkVariableReferences,
  checkVariableSources,
} from './rules-variables.js';
import { CHECK_NAMES, type CheckName, type ParsedRunbook } from './schema.js';
import { listWebhookRefs } from './webhook-url.js';

/**
 * Cross-reference rules: what the schema alone cannot see. Each rule reads the schema output
 * and reports located problems through the context. Pure.
 */

export type { Rule, RuleContext } from './rule-context.js';

export const checkDuplicateStageNames: Rule = (ctx) => {
  const seen = new Map<string, number>();
  ctx.runbook.stages.forEach((stage, index) => {
    if (!stage.name) return;
    const first = seen.get(stage.name);
    if (first !== undefined) {
      ctx.report(
        ['stages', index, 'name'],
        `duplicate stage name \`${stage.name}\` (also stages[${first}])`,
        {
          hint: 'stage names must be unique: they key the journal and resume',
        },
      );
    } else {
      seen.set(stage.name, index);
    }
  });
};

/** activate only undoes a drain from this run; without one it has nothing to do. */
export const checkDrainActivatePairing: Rule = (ctx) => {
  let drained = false;
  let drainIndex = -1;
  let rebootWarned = false;
  ctx.runbook.stages.forEach((stage, index) => {
    if (stage.kind === 'drain') {
      drained = true;
      drainIndex = index;
    } else if (stage.kind === 'activate') {
      if (!drained) {
        ctx.report(['stages', index, 'kind'], '`activate` stage without a `drain` stage before it', {
          hint: 'add a `drain` stage earlier, or remove this one: activate only re-activates a node this run drained',
        });
      }
      drained = false;
    } else if (stage.kind === 'reboot' && !drained && !rebootWarned) {
      rebootWarned = true;
      ctx.report(['stages', index, 'kind'], 'reboot without draining the node first', {
        severity: 'warning',
        hint: 'tasks on the node will be killed instead of rescheduled; add a `drain` stage before it',
      });
    }
  });
  if (drained) {
    ctx.report(['stages', drainIndex, 'kind'], 'the node is drained and never re-activated', {
      severity: 'warning',
      hint: 'add an `activate` stage (e.g. `name: rejoin`) after the changes, or nodes stay drained',
    });
  }
};

export const checkRolloutOrder: Rule = (ctx) => {
  const order = ctx.runbook.rollout.order ?? [];
  const seen = new Map<string, number>();
  order.forEach((node, index) => {
    const first = seen.get(node);
    if (first !== undefined) {
      ctx.report(
        ['rollout', 'order', index],
        `node \`${node}\` is listed twice in rollout.order (also at [${first}])`,
      );
    } else {
      seen.set(node, index);
    }
  });
};

export const checkWindow: Rule = (ctx) => {
  const window = ctx.runbook.rollout.window;
  if (!window) return;
  const parsed: { start?: number; end?: number } = {};
  for (const key of ['start', 'end'] as const) {
    const raw = window[key];
    if (raw === undefined) continue;
    const result = parseWindowTime(raw);
    if ('problem' in result) {
      ctx.report(['rollout', 'window', key], result.problem, { hint: result.hint });
    } else {
      parsed[key] = result.time;
    }
  }
  if (parsed.start !== undefined && parsed.end !== undefined && parsed.end <= parsed.start) {
    ctx.report(['rollout', 'window', 'end'], 'the window ends before it starts', {
      hint: 'check the dates and time zones of start and end',
    });
  }
};

const WINDOW_HINT = 'e.g. 2025-03-01T22:00:00Z or 2025-03-01T23:00:00+01:00';
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * A window time: an ISO 8601 date-time with an explicit zone. Without a zone the same runbook
 * would mean different instants on different laptops, so drydock does not guess. The calendar
 * is checked here: `Date.parse` quietly turns 2026-02-30 into March 2.
 */
function parseWindowTime(raw: string): { time: number } | { problem: string; hint: string } {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(raw);
  if (!match) return { problem: `expected an ISO 8601 date-time, got \`${raw}\``, hint: WINDOW_HINT };
  const [, year, month, day, hour, minute, second, zone] = match.map((part) => part ?? '');
  const y = Number(year);
  const m = Number(month);
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (m < 1 || m > 12) {
    return { problem: `\`${raw}\` is not a date: there is no month ${m}`, hint: WINDOW_HINT };
  }
  if (Number(day) < 1 || Number(day) > daysInMonth) {
    return {
      problem: `\`${raw}\` is not a date: ${MONTHS[m - 1]} ${y} has ${daysInMonth} days`,
      hint: WINDOW_HINT,
    };
  }
  if (hour && (Number(hour) > 23 || Number(minute) > 59 || Number(second || 0) > 59)) {
    return { problem: `\`${raw}\` is not a time of day`, hint: WINDOW_HINT };
  }
  if (!hour || !zone) {
    return {
      problem: `\`${raw}\` has no ${hour ? 'time zone' : 'time and zone'}: drydock does not guess the operator's local time`,
      hint: `add the zone: ${hour ? `${raw}Z for UTC, or an offset such as ${raw}+01:00` : WINDOW_HINT}`,
    };
  }
  return { time: Date.parse(raw) };
}

/** Every check the runbook runs anywhere. */
export function listUsedChecks(runbook: ParsedRunbook): Set<CheckName> {
  const used = new Set<CheckName>([
    ...(runbook.checks.preflight ?? runbook.checks.afterNode),
    ...runbook.checks.between,
    ...runbook.checks.afterNode,
  ]);
  for (const stage of runbook.stages)
    if (stage.kind === 'checks') for (const check of stage.run) used.add(check);
  return used;
}

export const checkUnusedCheckOptions: Rule = (ctx) => {
  const used = listUsedChecks(ctx.runbook);
  for (const check of CHECK_NAMES) {
    if (ctx.runbook.checks.options[check] === undefined || used.has(check)) continue;
    ctx.report(['checks', 'options', check], `options for \`${check}\`, which never runs`, {
      severity: 'warning',
      at: 'key',
      hint: `add \`${check}\` to checks.between, checks.afterNode or a checks stage, or remove these options`,
    });
  }
};

export const checkDockerConnection: Rule = (ctx) => {
  const docker = ctx.runbook.connection.docker;
  if (docker.via === 'tcp' && !docker.host) {
    ctx.report(['connection', 'docker', 'via'], '`via: tcp` needs `host` (e.g. tcp://manager1:2376)');
  }
  const templated = docker.host !== undefined && /\$\{/.test(docker.host);
  const unknown = docker.host?.match(/\$\{(?!node\.addr\}|node\.name\})[^}]*\}/)?.[0];
  if (unknown) {
    ctx.report(['connection', 'docker', 'host'], `\`${unknown}\` cannot be used in the Docker endpoint`, {
      hint: 'only ${node.addr} and ${node.name} are filled in, per manager (e.g. tcp://${node.addr}:2376)',
    });
  } else if (templated && docker.via === 'tcp' && docker.managers.length === 0) {
    ctx.report(['connection', 'docker', 'host'], 'a per-node Docker endpoint needs managers to start from', {
      hint: 'set connection.docker.managers to one or more manager addresses',
    });
  }
  if (docker.host && docker.via === 'tcp' && !/^(tcp|https?):\/\//.test(docker.host)) {
    ctx.report(['connection', 'docker', 'host'], `\`${docker.host}\` is not a tcp:// endpoint`, {
      hint: 'write tcp://HOST:2376 (TLS) or tcp://HOST:2375 (plain)',
    });
  }
  if (docker.via !== 'tcp' && docker.host) {
    ctx.report(['connection', 'docker', 'host'], `\`host\` is ignored with \`via: ${docker.via}\``, {
      severity: 'warning',
      at: 'key',
    });
  }
};

export const checkTargets: Rule = (ctx) => {
  const { names, exclude } = ctx.runbook.targets;
  if (!names) return;
  exclude.forEach((node, index) => {
    if (names.includes(node)) {
      ctx.report(['targets', 'exclude', index], `\`${node}\` is both in targets.names and excluded`, {
        severity: 'warning',
      });
    }
  });
};

/**
 * Webhook URLs: references must resolve to declared variables; a literal must be http(s). The
 * URL itself never appears in a message (it is a secret).
 */
export const checkNotify: Rule = (ctx) => {
  ctx.runbook.notify.forEach((hook, index) => {
    const path = ['notify', index, 'url'];
    const refs = listWebhookRefs(hook.url);
    for (const ref of refs.filter((r) => !r.env)) {
      const variable = ctx.runbook.variables[ref.name];
      if (variable === undefined) {
        ctx.report(path, `\`\${${ref.name}}\` is not a declared variable`, {
          within: ref.offset,
          hint: `declare it under variables (with secret: true), or read the environment: \${env:${ref.name}}`,
        });
      } else if (typeof variable !== 'object' || !variable.secret) {
        ctx.report(path, `variable \`${ref.name}\` holds a webhook URL but is not secret`, {
          severity: 'warning',
          hint: 'mark it `secret: true` so it is masked everywhere',
        });
      }
    }
    if (refs.length === 0 && !/^https?:\/\/[^/\s]+/.test(hook.url)) {
      ctx.report(path, 'not an http(s) URL', { hint: 'e.g. url: ${env:SLACK_WEBHOOK_URL}' });
    }
    if (refs.length > 0 && !/^(https?:\/\/|\$\{)/.test(hook.url)) {
      ctx.report(path, 'must start with http://, https:// or a ${…} reference');
    }
  });
};

/** Every rule, in reporting order. Adding one here is all it takes to enforce it. */
export const RULES: readonly Rule[] = [
  checkVariableSources,
  checkVariableReferences,
  checkNumericVariables,
  checkSecretLength,
  checkSecretPlacement,
  checkShellPlaces,
  checkDuplicateStageNames,
  checkDrainActivatePairing,
  checkRolloutOrder,
  checkWindow,
  checkUnusedCheckOptions,
  checkDockerConnection,
  checkTargets,
  checkNotify,
];

/** Runs every rule against a schema-valid runbook. */
export function runRules(
  runbook: ParsedRunbook,
  report: RuleContext['report'],
  readSource: RuleContext['readSource'] = () => undefined,
  rules: readonly Rule[] = RULES,
): void {
  const ctx: RuleContext = { runbook, stageNames: nameStages(runbook.stages), report, readSource };
  for (const rule of rules) rule(ctx);
}
