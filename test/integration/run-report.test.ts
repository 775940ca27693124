import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labExec, labUp } from '../lab/lab.js';
import { renderInChromium } from '../support/chromium.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook } from '../support/lab-runbook.js';

/**
 * Reports and notifications end to end on the namespace lab: a real halted run and its resume
 * each write the HTML and Markdown reports, the HTML renders in real headless Chromium, and the
 * webhooks reach real HTTP servers on 127.0.0.1 (or do not, and the run goes on).
 */
let dir: string;
let journals: string;
const servers: Server[] = [];
const SECRET = 'sekrit-token-4711';

interface Receiver {
  bodies: Record<string, unknown>[];
  url: string;
}
async function startReceiver(answer: (n: number) => number | 'hang'): Promise<Receiver> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      const a = answer(bodies.length);
      if (a !== 'hang') res.writeHead(a).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return {
    bodies,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/${SECRET}`,
  };
}

/** The lab runbook with its stages replaced (fast runs) and a notify section. */
function runbookWith(stages: string, notify: string, options: Parameters<typeof labRunbook>[0] = {}): string {
  const base = labRunbook({ between: ['node-ready'], afterNode: ['node-ready', 'ip-route'], ...options });
  return `${stages ? `${base.slice(0, base.indexOf('stages:\n'))}stages:\n${stages}` : base}notify:\n${notify}`;
}

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  dir = tempDir('drydock-report-');
  journals = `${dir}/runs`;
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await resetLab();
});

function expectNoSecret(...texts: string[]): void {
  for (const t of texts) expect(t).not.toContain(SECRET);
}

async function expectRendered(runId: string, label: string) {
  const html = join(journals, `${runId}.html`);
  expect(existsSync(html)).toBe(true);
  expect(existsSync(join(journals, `${runId}.md`))).toBe(true);
  const page = await renderInChromium(html, join(dir, `${label}.png`));
  expect(page.consoleMessages).toEqual([]);
  expect(page.pngBytes).toBeGreaterThan(10_000);
  expect(page.dom.match(/<g class="row" /g)?.length).toBe(3);
  return page;
}

describe('run reports and webhooks on the lab (1 manager + 2 workers)', () => {
  it('a halted run and its resume each write both reports; Chromium renders them; webhooks are told', async () => {
    const slack = await startReceiver(() => 200);
    // The JSON receiver fails its first request: the run-start message must be retried.
    const json = await startReceiver((n) => (n === 1 ? 500 : 200));
    await labExec('node3', 'touch /run/drydock-test-fail');
    const runbook = writeRunbook(
      dir,
      'halting.yaml',
      runbookWith(
        '',
        `  - { url: "\${env:TEST_SLACK_HOOK}", format: slack, events: [run-start, halt, run-end] }
  - { url: "\${env:TEST_JSON_HOOK}", format: json, events: [run-start, node-done, halt, run-end], timeout: 2s }
`,
        {
          patch: ['test ! -e /run/drydock-test-fail || { echo "patch failed on purpose" >&2; exit 3; }'],
          upgrade: ['true'],
        },
      ),
    );
    const env = { TEST_SLACK_HOOK: slack.url, TEST_JSON_HOOK: json.url };
    const first = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], { env });
    expect(first.exitCode, explain(first)).toBe(1);
    const runId = eventsOf(first.events, 'run-end')[0]!.runId;
    const halted = await expectRendered(runId, 'halted');
    expect(halted.dom).toContain('class="marker halt-marker"');
    const md = readFileSync(join(journals, `${runId}.md`), 'utf8');
    expect(md).toContain('Halted on node3 at stage patch');
    expect(md).toContain(`drydock resume ${runId}`);

    expect(slack.bodies.map((b) => (b.text as string).split(':')[0])).toHaveLength(3);
    expect(slack.bodies[1]).toMatchObject({ blocks: [{ type: 'section' }, { type: 'context' }] });
    expect(slack.bodies[1]!.text).toContain('HALTED');
    expect(json.bodies.map((b) => b.event)).toEqual([
      'run-start',
      'run-start',
      'node-done',
      'halt',
      'run-end',
    ]);
    expect(json.bodies[3]).toMatchObject({
      schema: 'drydock.notification',
      version: 1,
      node: 'node3',
      stage: 'patch',
      outcome: 'halted',
      runId,
    });

    await labExec('node3', 'rm -f /run/drydock-test-fail');
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals], { env });
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    const done = await expectRendered(runId, 'resumed');
    expect(done.dom).toContain('class="resume-marker"');
    expect(done.dom).toContain('class="banner outcome-succeeded"');
    expect(json.bodies.at(-1)).toMatchObject({ event: 'run-end', outcome: 'succeeded' });

    const runs = await runDrydock(['runs', '--journal-dir', journals]);
    expect(runs.stdout).toContain(join(journals, `${runId}.html`));
    const rebuilt = await runDrydock(['report', runId, '--format', 'md', '--journal-dir', journals]);
    expect(rebuilt.stdout).toContain('# Succeeded');
    expectNoSecret(
      first.stdout,
      first.stderr,
      resumed.stdout,
      readFileSync(join(journals, `${runId}.jsonl`), 'utf8'),
      readFileSync(join(journals, `${runId}.html`), 'utf8'),
      JSON.stringify(slack.bodies),
      JSON.stringify(json.bodies),
    );
  });

  it('the run finishes when a receiver is down or hangs; the warning lands in the journal and the report', async () => {
    const hanging = await startReceiver(() => 'hang');
    const runbook = writeRunbook(
      dir,
      'receivers-down.yaml',
      runbookWith(
        '  - { kind: checks, name: verify, run: [node-ready] }\n',
        `  - { url: "http://127.0.0.1:9/services/${SECRET}", events: [run-start, run-end], timeout: 500ms, retries: 1 }
  - { url: "\${env:TEST_HANG_HOOK}", events: [run-end], timeout: 500ms, retries: 1 }
`,
        { targets: '{ names: [node2] }' },
      ),
    );
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], {
      env: { TEST_HANG_HOOK: hanging.url },
    });
    expect(result.exitCode, explain(result)).toBe(0);
    expect(hanging.bodies).toHaveLength(2);
    const runId = eventsOf(result.events, 'run-end')[0]!.runId;
    const journal = readFileSync(join(journals, `${runId}.jsonl`), 'utf8');
    expect(journal.match(/"type":"warning"/g)).toHaveLength(3);
    const md = readFileSync(join(journals, `${runId}.md`), 'utf8');
    expect(md).toContain('run-end not delivered after 2 attempts');
    expectNoSecret(journal, md, result.stdout, result.stderr);
  });

  it('refuses at start (exit 3) when a required webhook cannot be told, touching nothing', async () => {
    const runbook = writeRunbook(
      dir,
      'required.yaml',
      runbookWith(
        '  - { kind: checks, name: verify, run: [node-ready] }\n',
        `  - { url: "http://127.0.0.1:9/services/${SECRET}", required: true, timeout: 500ms, retries: 1 }\n`,
      ),
    );
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', journals]);
    expect(result.exitCode, explain(result)).toBe(3);
    expect(eventsOf(result.events, 'node-start')).toEqual([]);
    expect(eventsOf(result.events, 'run-end')[0]).toMatchObject({ outcome: 'refused' });
    const report = await runDrydock([
      'report',
      eventsOf(result.events, 'run-end')[0]!.runId,
      '--format',
      'md',
      '--journal-dir',
      journals,
    ]);
    expect(report.stdout).toContain('# Refused');
    expect(report.stdout).toContain('run-start not delivered');
    expectNoSecret(report.stdout, result.stdout, result.stderr);
  });
});
