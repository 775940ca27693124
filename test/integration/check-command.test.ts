// `drydock check` end to end: the real CLI as a process against the namespace lab. Healthy lab:
// exit 0 and the table, also while the host is busy; a real fault: exit 1 with the failing check
// and its evidence; a stopped engine: one cause row, its checks skipped, what to run next.
import { type ChildProcess, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { healFault, injectFault, type LabInfo, labDocker, readLab, waitFor } from '../lab/lab.js';
import { type CliResult, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook } from '../support/lab-runbook.js';

interface CheckJson {
  healthy: boolean;
  counts: Record<string, number>;
  durationMs: number;
  checks: { names: string[]; source: string; preflight?: string[] };
  causes: { node: string; part: string; message: string }[];
  hints: string[];
  results: { check: string; node?: string; status: string; message: string; evidence?: unknown }[];
}

const CHECKS = [
  'node-ready',
  'manager-quorum',
  'swarm-state',
  'engine-version',
  'services-converged',
  'ingress-peers',
  'published-ports',
  'ip-route',
  'clock-skew',
];

let lab: LabInfo;
let runbook: string;

beforeAll(async () => {
  lab = readLab();
  // A file before this one may have rebooted or broken nodes, or halted a run (which leaves its
  // node drained and the lock held, by design): start from a healthy, settled lab.
  await resetLab();
  const text = labRunbook({ name: 'check-cli', between: ['node-ready'], afterNode: CHECKS }).replace(
    '    services-converged: { timeout: 90s }',
    [
      '    services-converged: { timeout: 60s }',
      '    published-ports: { timeout: 2s, connectTimeout: 1500ms }',
    ].join('\n'),
  );
  runbook = writeRunbook(tempDir('drydock-check-'), 'lab.yaml', text);
});

const check = (...args: string[]) => runDrydock(['check', ...args]);
/** The lab runbook with other check options (YAML lines under checks.options). */
function runbookWith(name: string, options: string[]): string {
  const text = labRunbook({ name, between: ['node-ready'], afterNode: CHECKS }).replace(
    '    services-converged: { timeout: 90s }',
    options.join('\n'),
  );
  return writeRunbook(tempDir('drydock-check-'), `${name}.yaml`, text);
}
/** Connection flags naming the lab's manager, for `check` without a runbook. */
const labFlags = () => {
  const manager = lab.nodes.find((n) => n.role === 'manager')!;
  return [
    '--manager',
    manager.ip,
    '--identity',
    lab.sshKey,
    '--known-hosts',
    lab.knownHosts,
    '--ssh-user',
    'root',
  ];
};
/** Table rows (not evidence, hints or the summary) as [status, check, node, message]. */
const rows = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => /^(PASS|FAIL|WARN|SKIP|N\/A)\s/.test(l))
    .map((l) => {
      const [status, name, node, ...message] = l.split(/\s+/);
      return { status, check: name, node, message: message.join(' ') };
    });
/** What a failed expectation shows: stderr and the end of stdout (the table or the JSON). */
const why = (r: CliResult) => `${explain(r)}\n${r.stdout.slice(-6000)}`;
const parse = (stdout: string) => JSON.parse(stdout) as CheckJson;
const failures = (json: CheckJson) => json.results.filter((r) => r.status === 'fail');

/** The node running the `web` service's task (host-mode 8080). */
async function webNode(): Promise<string> {
  const r = await labDocker(lab.nodes[0]!.name, lab)(
    'service',
    'ps',
    'web',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Node}}',
  );
  const node = r.stdout.trim().split('\n')[0];
  if (r.exitCode !== 0 || !node) throw new Error(`no running web task: ${r.stderr}`);
  return node;
}

describe('drydock check on a healthy lab', () => {
  it('exits 0 and prints the table', async () => {
    const r = await check('--runbook', runbook);
    expect(r.exitCode, why(r)).toBe(0);
    expect(r.stdout).toMatch(/^STATUS\s+CHECK\s+NODE\s+MESSAGE$/m);
    for (const name of CHECKS) expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/^HEALTHY: \d+ passed, \d+ warnings, 0 failed, \d+ not applicable in [\d.]+s$/m);
    expect(r.stdout).not.toMatch(/^FAIL/m);
    // The set it runs, and where it came from, comes first: it is not the run's pre-flight.
    expect(r.stdout.split('\n')[0]).toBe(
      `checks (runbook ${runbook}: checks.afterNode + checks.between): ${CHECKS.join(', ')}`,
    );
    expect(r.stdout).toMatch(
      /^the run's pre-flight runs instead: node-ready, manager-quorum, services-converged/m,
    );
    // Grouped by node: cluster-wide rows first, then node1, node2, … each in one block.
    const order = rows(r.stdout).map((x) => x.node);
    const blocks = order.filter((n, i) => n !== order[i - 1]);
    expect(blocks).toEqual(['(cluster)', ...lab.nodes.map((n) => n.name)]);
  });

  it('--json prints one parseable document with every result', async () => {
    const r = await check('--runbook', runbook, '--json');
    expect(r.exitCode, why(r)).toBe(0);
    const json = parse(r.stdout);
    expect(json.healthy).toBe(true);
    expect(json.counts.fail).toBe(0);
    expect(json.checks.names).toEqual(CHECKS);
    expect(json.causes).toEqual([]);
    expect(new Set(json.results.map((x) => x.check))).toEqual(new Set(CHECKS));
    expect(
      json.results
        .filter((x) => x.check === 'node-ready')
        .map((x) => x.node)
        .sort(),
    ).toEqual(lab.nodes.map((n) => n.name).sort());
  });

  it('--node limits the per-node checks to that node', async () => {
    const node = lab.nodes[1]!.name;
    const r = await check('--runbook', runbook, '--json', '--node', node);
    expect(r.exitCode, why(r)).toBe(0);
    const perNode = parse(r.stdout).results.filter((x) =>
      ['node-ready', 'swarm-state', 'ip-route'].includes(x.check),
    );
    expect(perNode.length).toBeGreaterThanOrEqual(3);
    // Only that node's rows and the cluster-wide ones, whatever a check asks.
    expect(new Set(parse(r.stdout).results.map((x) => x.node ?? '(cluster)'))).toEqual(
      new Set(['(cluster)', node]),
    );
  });

  it('an unknown --node is a usage error naming the nodes', async () => {
    const r = await check('--runbook', runbook, '--node', 'no-such-node');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no node named no-such-node');
    expect(r.stderr).toContain(lab.nodes[0]!.name);
  });

  it('connection flags work without a runbook', async () => {
    const r = await check(...labFlags(), '--json');
    expect(r.exitCode, why(r)).toBe(0);
    const json = parse(r.stdout);
    expect(json.healthy).toBe(true);
    expect(json.results.filter((x) => x.check === 'ip-route').length).toBe(lab.nodes.length);
  });
});

describe('drydock check on a busy host', () => {
  // No check may fail because the machine running drydock is slow: CPU hogs beside the whole
  // catalogue, and only verdicts asserted. `timeout` bounds each hog even if this process dies.
  it('keeps every verdict on a healthy lab while CPU hogs run: exit 0, every row pass or N/A', async () => {
    const hogs: ChildProcess[] = [0, 1].map(() =>
      spawn('timeout', ['300', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
    );
    try {
      const r = await check(...labFlags(), '--json');
      expect(r.exitCode, why(r)).toBe(0);
      const json = parse(r.stdout);
      expect(json.results.filter((x) => x.status !== 'pass' && x.status !== 'not-applicable')).toEqual([]);
      // Every check of the catalogue gave a verdict.
      expect(new Set(json.results.map((x) => x.check))).toEqual(new Set(json.checks.names));
      expect(json.checks.names).toContain('clock-skew');
    } finally {
      await Promise.all(
        hogs.map(
          (hog) =>
            new Promise<void>((done) => {
              if (hog.exitCode !== null || hog.signalCode !== null) return done();
              hog.once('exit', () => done());
              hog.kill('SIGTERM');
            }),
        ),
      );
    }
  });
});

describe('drydock check under a real fault', () => {
  it('exits 1 and shows published-ports failing on the node whose port is blocked', async () => {
    const node = await webNode();
    await injectFault('block-port', node, '8080');
    try {
      const r = await check('--runbook', runbook);
      expect(r.exitCode, why(r)).toBe(1);
      const row = r.stdout.split('\n').findIndex((l) => /^FAIL\s+published-ports\s/.test(l));
      expect(row, r.stdout).toBeGreaterThan(0);
      const lines = r.stdout.split('\n');
      expect(lines[row]).toContain(node);
      expect(lines[row]).toMatch(/web 8080\/tcp \(host\) does not answer/);
      expect(lines[row + 1]).toMatch(/^\s+evidence: \{.*"port":8080/);
      expect(r.stdout).toMatch(/^UNHEALTHY: .* [1-9]\d* failed/m);

      const json = parse((await check('--runbook', runbook, '--json')).stdout);
      expect(json.healthy).toBe(false);
      expect(failures(json).map((f) => [f.check, f.node, (f.evidence as { port?: number }).port])).toEqual([
        ['published-ports', node, 8080],
      ]);
    } finally {
      await healFault('block-port', node, '8080');
    }
  });

  it('exits 1 with the missing default route as evidence; --node elsewhere stays healthy', async () => {
    const node = lab.nodes[1]!.name;
    const other = lab.nodes.find((n) => n.name !== node)!.name;
    await injectFault('default-route', node);
    try {
      const r = await check('--runbook', runbook, '--json', '--node', node);
      expect(r.exitCode, why(r)).toBe(1);
      expect(failures(parse(r.stdout))).toEqual([
        expect.objectContaining({ check: 'ip-route', node, message: expect.stringMatching(/default route/) }),
      ]);
      const table = await check('--runbook', runbook, '--node', node);
      expect(table.exitCode).toBe(1);
      expect(table.stdout).toMatch(new RegExp(`^FAIL\\s+ip-route\\s+${node}\\s.*default route`, 'm'));
      expect(table.stdout).toMatch(/^\s+evidence: /m);

      const elsewhere = await check('--runbook', runbook, '--node', other);
      expect(elsewhere.exitCode, why(elsewhere)).toBe(0);
    } finally {
      await healFault('default-route', node);
    }
  });

  it('prints progress on stderr while a check waits, never on stdout', async () => {
    const node = await webNode();
    const slow = runbookWith('check-progress', [
      '    published-ports: { timeout: 20s, connectTimeout: 1500ms }',
    ]);
    await injectFault('block-port', node, '8080');
    try {
      const r = await check('--runbook', slow, '--node', node);
      expect(r.exitCode, why(r)).toBe(1);
      expect(r.stderr).toMatch(/^still checking after \d+s: .*published-ports \(up to 20s\)/m);
      expect(r.stdout).not.toContain('still checking');
      const json = await check('--runbook', slow, '--node', node, '--json');
      expect(json.exitCode, why(json)).toBe(1);
      expect(parse(json.stdout).healthy).toBe(false);
      // stderr is no terminal here: --json stays quiet there too.
      expect(json.stderr).not.toContain('still checking');
    } finally {
      await healFault('block-port', node, '8080');
    }
  });
});

describe('drydock check with a stopped engine', () => {
  it('states the cause once, skips what needs the engine, says what to run next; --node shows only that node', async () => {
    const node = (lab.nodes.find((n) => n.role === 'worker') ?? lab.nodes.at(-1))!;
    const rb = runbookWith('check-engine', [
      '    services-converged: { timeout: 20s }',
      '    ingress-peers: { timeout: 15s }',
      '    published-ports: { timeout: 2s, connectTimeout: 1500ms }',
    ]);
    await injectFault('dockerd', node.name);
    try {
      const r = await check('--runbook', rb);
      expect(r.exitCode, why(r)).toBe(1);
      const mine = rows(r.stdout).filter((x) => x.node === node.name);
      // The cause first, once; no failure per check; what needs only SSH still ran.
      expect(mine[0]).toMatchObject({ status: 'FAIL', check: 'swarm-state' });
      expect(mine[0]!.message).toMatch(
        new RegExp(`^engine on ${node.name} not answering \\(.*Channel open failure`),
      );
      expect(mine.filter((x) => x.status === 'FAIL')).toHaveLength(1);
      expect(r.stdout.match(/Channel open failure/g)?.length ?? 0).toBeLessThanOrEqual(2);
      expect(mine.filter((x) => x.status === 'SKIP').map((x) => x.check)).toEqual(
        expect.arrayContaining(['node-ready', 'engine-version', 'ingress-peers', 'published-ports']),
      );
      expect(
        mine
          .filter((x) => x.status === 'SKIP')
          .every((x) => x.message.startsWith(`skipped: engine on ${node.name}`)),
      ).toBe(true);
      expect(mine.find((x) => x.check === 'ip-route')?.status).toBe('PASS');
      expect(r.stdout).toContain(`next: ssh root@${node.ip} systemctl status docker`);
      expect(r.stdout).toContain(`next: drydock check --runbook ${rb} --node ${node.name}`);

      const only = await check('--runbook', rb, '--node', node.name, '--json');
      expect(only.exitCode, why(only)).toBe(1);
      const json = parse(only.stdout);
      expect(json.causes.map((c) => [c.node, c.part])).toEqual([[node.name, 'engine']]);
      expect(new Set(json.results.map((x) => x.node ?? '(cluster)'))).toEqual(
        new Set(['(cluster)', node.name]),
      );
      expect(json.hints[0]).toBe(
        `ssh root@${node.ip} systemctl status docker   # why the engine on ${node.name} is not answering`,
      );
    } finally {
      await healFault('dockerd', node.name);
      // Leave the lab healthy for whatever runs next.
      await waitFor(async () => (await check('--runbook', runbook, '--json')).exitCode === 0, 180_000, {
        intervalMs: 5000,
        what: 'the lab to be healthy again',
      });
    }
  });
});
