import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/executor/events.js';
import { createNotifier } from '../../../src/notify/notifier.js';
import type { Webhook } from '../../../src/runbook/types.js';
import { systemClock } from '../../../src/shared/clock.js';
import { createHttpWebhookPort } from '../../../src/transport/webhook.js';
import { planFor } from '../../support/run-journal-factory.js';

/** A real HTTP receiver on 127.0.0.1; `answer` decides per request (status, or 'hang'). */
async function startReceiver(answer: (n: number) => number | 'hang') {
  const bodies: unknown[] = [];
  const urls: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      urls.push(req.url ?? '');
      bodies.push(JSON.parse(text));
      const a = answer(bodies.length);
      if (a === 'hang') return;
      res.writeHead(a).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  servers.push(server);
  return { bodies, urls, base: `http://127.0.0.1:${port}` };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const SECRET_PATH = '/services/T000/B000/sekrit-token-123';
const hook = (url: string, extra: Partial<Webhook> = {}): Webhook => ({
  url,
  host: new URL(url).host,
  format: 'json',
  events: ['run-start', 'node-done', 'halt', 'interrupted', 'run-end'],
  required: false,
  timeoutMs: 300,
  retries: 2,
  ...extra,
});
const halt: RunEvent = {
  type: 'halt',
  at: '2024-05-01T12:05:00.000Z',
  report: {
    runId: 'r1',
    node: 'node2',
    stage: 'upgrade',
    reason: 'command exited with 3 (token hunter2-secret leaked)',
    failedChecks: [],
    lastOutput: [],
    nodes: [],
    resumeCommand: 'drydock resume r1',
  },
};

function notifierFor(hooks: Webhook[], warnings: string[]) {
  return createNotifier({
    hooks,
    port: createHttpWebhookPort(),
    context: { runId: 'r1', plan: planFor(3), reportPath: '/runs/r1.html', resumed: false },
    secrets: ['hunter2-secret'],
    clock: systemClock,
    onWarning: (m) => warnings.push(m),
    backoffMs: 10,
  });
}

describe('webhook notifications to a real HTTP server', () => {
  it('json and slack shapes carry what a human needs, and no secret', async () => {
    const rx = await startReceiver(() => 200);
    const warnings: string[] = [];
    const n = notifierFor(
      [hook(`${rx.base}${SECRET_PATH}`), hook(`${rx.base}${SECRET_PATH}`, { format: 'slack' })],
      warnings,
    );
    expect(await n.announce('2024-05-01T12:00:00.000Z')).toEqual({});
    n.onEvent(halt);
    await n.close();
    expect(warnings).toEqual([]);
    const json = rx.bodies.filter((b) => (b as { schema?: string }).schema === 'drydock.notification');
    expect(json.map((b) => (b as { event: string }).event)).toEqual(['run-start', 'halt']);
    expect(json[1]).toMatchObject({
      version: 1,
      runId: 'r1',
      node: 'node2',
      stage: 'upgrade',
      outcome: 'halted',
      resumeCommand: 'drydock resume r1',
      report: '/runs/r1.html',
      cluster: { nodes: 3, managers: 1, leader: 'node1' },
      runbook: { name: 'rolling-patch' },
    });
    const slack = rx.bodies.filter((b) => 'blocks' in (b as object)) as {
      text: string;
      blocks: { type: string }[];
    }[];
    expect(slack).toHaveLength(2);
    expect(slack[1]?.text).toContain('HALTED');
    expect(slack[1]?.text).toContain('node node2 at stage upgrade');
    expect(slack[1]?.blocks.map((b) => b.type)).toEqual(['section', 'context']);
    const all = JSON.stringify(rx.bodies);
    expect(all).not.toContain('hunter2-secret');
    expect(all).not.toContain('sekrit-token');
  });

  it('retries on 500 with backoff, then delivers', async () => {
    const rx = await startReceiver((n) => (n < 3 ? 500 : 200));
    const warnings: string[] = [];
    const n = notifierFor([hook(`${rx.base}/hook`)], warnings);
    n.onEvent(halt);
    await n.close();
    expect(rx.bodies).toHaveLength(3);
    expect(warnings).toEqual([]);
  });

  it('a hanging receiver times out each attempt, then a warning names the host only', async () => {
    const rx = await startReceiver(() => 'hang');
    const warnings: string[] = [];
    const n = notifierFor([hook(`${rx.base}${SECRET_PATH}`)], warnings);
    n.onEvent(halt);
    await n.close();
    expect(rx.bodies).toHaveLength(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('halt not delivered after 3 attempts');
    expect(warnings[0]).toContain('127.0.0.1');
    expect(warnings[0]).not.toContain('sekrit');
  });

  it('a required webhook that cannot be told refuses; an optional one only warns', async () => {
    const warnings: string[] = [];
    const down = 'http://127.0.0.1:9/hook';
    const optional = notifierFor([hook(down, { retries: 0 })], warnings);
    expect(await optional.announce('2024-05-01T12:00:00.000Z')).toEqual({});
    await optional.close();
    expect(warnings).toHaveLength(1);
    const required = notifierFor([hook(down, { retries: 1, required: true })], []);
    const result = await required.announce('2024-05-01T12:00:00.000Z');
    expect(result.refused).toMatch(
      /^required webhook at 127\.0\.0\.1:9: run-start not delivered after 2 attempts/,
    );
  });
});
