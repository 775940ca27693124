import type { RunEvent } from '../executor/events.js';
import type { Plan } from '../plan/types.js';
import type { NotifyEvent } from '../runbook/types.js';
import { formatDuration } from '../shared/format-duration.js';

/**
 * What a webhook receives. Pure: an event in, a payload out.
 *
 * `json` format, drydock's own document (versioned: `schema` + `version`, fields only added):
 * ```
 * { "schema": "drydock.notification", "version": 1,
 *   "event": "run-start" | "node-done" | "halt" | "interrupted" | "run-end",
 *   "text": "one line for humans", "runId", "at",
 *   "runbook": { "name", "file" }, "cluster": { "nodes", "managers", "leader" },
 *   "node"?, "stage"?, "outcome"?, "durationMs"?, "reason"?, "resumeCommand"?, "report" }
 * ```
 * `slack` format: an incoming-webhook payload `{ text, blocks: [section, context] }`.
 */
export interface NotifyContext {
  runId: string;
  plan: Plan;
  /** Where the HTML report will be written. */
  reportPath: string;
  resumed: boolean;
}

export interface NotificationDocument {
  schema: 'drydock.notification';
  version: 1;
  event: NotifyEvent;
  text: string;
  runId: string;
  at: string;
  runbook: { name: string; file: string };
  cluster: { nodes: number; managers: number; leader: string | null };
  node?: string;
  stage?: string;
  outcome?: string;
  durationMs?: number;
  reason?: string;
  resumeCommand?: string;
  report: string;
}

type Details = Pick<
  NotificationDocument,
  'node' | 'stage' | 'outcome' | 'durationMs' | 'reason' | 'resumeCommand'
>;

/** The notification for an event, or undefined when the event is not one webhooks hear about. */
export function buildNotification(
  event: RunEvent,
  context: NotifyContext,
  nodeStartedAt: Record<string, string>,
): NotificationDocument | undefined {
  const base = (kind: NotifyEvent, text: string, details: Details): NotificationDocument => ({
    schema: 'drydock.notification',
    version: 1,
    event: kind,
    text,
    runId: context.runId,
    at: event.at,
    runbook: { name: context.plan.runbook.name, file: context.plan.runbook.file },
    cluster: {
      nodes: context.plan.cluster.nodes,
      managers: context.plan.cluster.managers,
      leader: context.plan.cluster.leader,
    },
    ...details,
    report: context.reportPath,
  });
  const where = `${context.plan.runbook.name} on ${clusterName(context)}`;
  switch (event.type) {
    case 'run-start':
      return base(
        'run-start',
        `drydock ${context.resumed ? 'resumed' : 'started'} ${where}: ${context.plan.nodes.length} nodes to maintain (run ${context.runId})`,
        {},
      );
    case 'node-end': {
      const started = nodeStartedAt[event.node];
      const durationMs = started ? Date.parse(event.at) - Date.parse(started) : undefined;
      return base(
        'node-done',
        `drydock ${where}: node ${event.node} done${durationMs !== undefined ? ` in ${formatDuration(durationMs)}` : ''} (now ${event.availabilityAfter})`,
        { node: event.node, outcome: 'done', ...(durationMs !== undefined ? { durationMs } : {}) },
      );
    }
    case 'halt':
      return base(
        'halt',
        `drydock HALTED ${where}: node ${event.report.node} at stage ${event.report.stage}: ${event.report.reason}. Resume with: ${event.report.resumeCommand}`,
        {
          node: event.report.node,
          stage: event.report.stage,
          outcome: 'halted',
          reason: event.report.reason,
          resumeCommand: event.report.resumeCommand,
        },
      );
    case 'interrupted':
      return base(
        'interrupted',
        `drydock interrupted ${where}${event.node ? ` at node ${event.node}${event.stage ? ` stage ${event.stage}` : ''}` : ''}. Resume with: ${event.resumeCommand}`,
        {
          ...(event.node ? { node: event.node } : {}),
          ...(event.stage ? { stage: event.stage } : {}),
          outcome: 'interrupted',
          resumeCommand: event.resumeCommand,
        },
      );
    case 'run-end':
      return base(
        'run-end',
        `drydock ${where}: run ${event.outcome} after ${formatDuration(event.durationMs)}. Report: ${context.reportPath}`,
        { outcome: event.outcome, durationMs: event.durationMs },
      );
    default:
      return undefined;
  }
}

/** An incoming-webhook payload (Slack and compatible: Mattermost, Rocket.Chat…). */
export function toSlackPayload(doc: NotificationDocument): {
  text: string;
  blocks: Record<string, unknown>[];
} {
  const facts = [
    `run \`${doc.runId}\``,
    `runbook \`${doc.runbook.name}\``,
    `cluster ${doc.cluster.nodes} nodes, leader ${doc.cluster.leader ?? 'unknown'}`,
    ...(doc.durationMs !== undefined ? [`duration ${formatDuration(doc.durationMs)}`] : []),
    `report \`${doc.report}\``,
  ];
  return {
    text: doc.text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: doc.text } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: facts.join(' · ') }] },
    ],
  };
}

function clusterName(context: NotifyContext): string {
  const c = context.plan.cluster;
  return `${c.nodes}-node cluster (leader ${c.leader ?? 'unknown'})`;
}
