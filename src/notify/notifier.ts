import type { RunEvent, RunReporter } from '../executor/events.js';
import type { NotifyEvent, Webhook } from '../runbook/types.js';
import type { Clock } from '../shared/clock.js';
import { maskSecrets } from '../shared/mask-secrets.js';
import type { WebhookPort } from '../transport/webhook.js';
import {
  buildNotification,
  type NotificationDocument,
  type NotifyContext,
  toSlackPayload,
} from './messages.js';

/**
 * Webhook notifications as one more event consumer. Delivery never stalls the run: each
 * webhook has its own queue that runs beside the executor; an attempt has a short timeout and
 * failures are retried with backoff, then reported as a warning (journal and report).
 * Only `announce` (run-start) is awaited, and only for `required` webhooks.
 */
export interface Notifier extends RunReporter {
  /** Send run-start. Resolves with a reason when a required webhook could not be told. */
  announce(at: string): Promise<{ refused?: string }>;
  /** Wait for queued deliveries (each bounded by timeout × attempts). */
  close(): Promise<void>;
}

export interface NotifierOptions {
  hooks: readonly Webhook[];
  port: WebhookPort;
  context: NotifyContext;
  /** Secret values to mask in every payload (the URLs are added here). */
  secrets: readonly string[];
  clock: Clock;
  /** A delivery gave up (or could not start): the caller journals it. */
  onWarning(message: string): void;
  /** First backoff; doubles per attempt. */
  backoffMs?: number;
}

const FROM_EVENT: Partial<Record<RunEvent['type'], NotifyEvent>> = {
  'node-end': 'node-done',
  halt: 'halt',
  interrupted: 'interrupted',
  'run-end': 'run-end',
};

export function createNotifier(options: NotifierOptions): Notifier {
  const secrets = [...options.secrets, ...options.hooks.flatMap((h) => (h.url ? [h.url] : []))];
  const queues = options.hooks.map(() => Promise.resolve());
  const nodeStartedAt: Record<string, string> = {};
  const backoffMs = options.backoffMs ?? 250;

  function payloadFor(hook: Webhook, doc: NotificationDocument): string {
    const body = hook.format === 'slack' ? toSlackPayload(doc) : doc;
    return maskSecrets(JSON.stringify(body), secrets);
  }

  /** Resolves with an error message, or undefined when delivered. */
  async function deliver(hook: Webhook, doc: NotificationDocument): Promise<string | undefined> {
    if (!hook.url) return `webhook at ${hook.host}: URL has no value, ${doc.event} not sent`;
    const body = payloadFor(hook, doc);
    let last = '';
    for (let attempt = 0; attempt <= hook.retries; attempt++) {
      if (attempt > 0) await options.clock.sleep(backoffMs * 2 ** (attempt - 1));
      try {
        const { status } = await options.port.post(hook.url, body, { timeoutMs: hook.timeoutMs });
        if (status >= 200 && status < 300) return undefined;
        last = `HTTP ${status}`;
      } catch (error) {
        last = (error as Error).message;
      }
    }
    return maskSecrets(
      `webhook at ${hook.host}: ${doc.event} not delivered after ${hook.retries + 1} attempts (${last})`,
      secrets,
    );
  }

  function enqueue(index: number, hook: Webhook, doc: NotificationDocument): Promise<string | undefined> {
    const delivery = (queues[index] ?? Promise.resolve()).then(() => deliver(hook, doc));
    queues[index] = delivery.then((problem) => {
      if (problem) options.onWarning(problem);
    });
    return delivery;
  }

  return {
    async announce(at) {
      const doc = buildNotification(
        {
          type: 'run-start',
          runId: options.context.runId,
          plan: options.context.plan,
          resumed: options.context.resumed,
          mode: 'unattended',
          at,
        },
        options.context,
        nodeStartedAt,
      );
      if (!doc) return {};
      const waits: Promise<string | undefined>[] = [];
      options.hooks.forEach((hook, index) => {
        if (!hook.events.includes('run-start')) return;
        if (hook.required) {
          // Why not through the queue: a required failure refuses the run, it is not a warning.
          const delivery = deliver(hook, doc);
          queues[index] = delivery.then(() => {});
          waits.push(delivery);
        } else enqueue(index, hook, doc);
      });
      const problems = (await Promise.all(waits)).filter((p): p is string => p !== undefined);
      return problems.length > 0 ? { refused: `required ${problems.join('; ')}` } : {};
    },
    onEvent(event) {
      if (event.type === 'node-start') nodeStartedAt[event.node] ??= event.at;
      const kind = FROM_EVENT[event.type];
      if (!kind) return;
      const doc = buildNotification(event, options.context, nodeStartedAt);
      if (!doc) return;
      options.hooks.forEach((hook, index) => {
        if (hook.events.includes(kind)) void enqueue(index, hook, doc);
      });
    },
    async close() {
      await Promise.all(queues);
    },
  };
}
