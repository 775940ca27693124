// `drydock check` end to end: the real CLI as a process against the namespace lab. Healthy lab:
// exit 0 and the table; a real fault: exit 1 with the failing check and its evidence.
import { beforeAll, describe, expect, it } from 'vitest';
import { healFault, injectFault, type LabInfo, labDocker, readLab } from '../lab/lab.js';
import { explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { waitConverged } from '../support/lab-reset.js';
import { labRunbook } from '../support/lab-runbook.js';

interface CheckJson {
  healthy: boolean;
  counts: Record<string, number>;
  durationMs: number;
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
  // A file before this one may have rebooted or broken nodes: start from a settled lab.
  await waitConverged(labDocker(lab.nodes.find((n) => n.role === 'manager')!.name, lab));
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
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^STATUS\s+CHECK\s+NODE\s+MESSAGE$/m);
    for (const name of CHECKS) expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/^HEALTHY: \d+ passed, \d+ warnings, 0 failed, \d+ not applicable in [\d.]+s$/m);
    expect(r.stdout).not.toMatch(/^FAIL/m);
  });

  it('--json prints one parseable document with every result', async () => {
    const r = await check('--runbook', runbook, '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const json = parse(r.stdout);
    expect(json.healthy).toBe(true);
    expect(json.counts.fail).toBe(0);
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
    expect(r.exitCode, explain(r)).toBe(0);
    const perNode = parse(r.stdout).results.filter((x) =>
      ['node-ready', 'swarm-state', 'ip-route'].includes(x.check),
    );
    expect(perNode.length).toBeGreaterThanOrEqual(3);
    expect(new Set(perNode.map((x) => x.node))).toEqual(new Set([node]));
  });

  it('an unknown --node is a usage error naming the nodes', async () => {
    const r = await check('--runbook', runbook, '--node', 'no-such-node');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no node named no-such-node');
    expect(r.stderr).toContain(lab.nodes[0]!.name);
  });

  it('connection flags work without a runbook', async () => {
    const manager = lab.nodes.find((n) => n.role === 'manager')!;
    const r = await check(
      '--manager',
      manager.ip,
      '--identity',
      lab.sshKey,
      '--known-hosts',
      lab.knownHosts,
      '--ssh-user',
      'root',
      '--json',
    );
    expect(r.exitCode, explain(r)).toBe(0);
    const json = parse(r.stdout);
    expect(json.healthy).toBe(true);
    expect(json.results.filter((x) => x.check === 'ip-route').length).toBe(lab.nodes.length);
  });
});

describe('drydock check under a real fault', () => {
  it('exits 1 and shows published-ports failing on the node whose port is blocked', async () => {
    const node = await webNode();
    await injectFault('block-port', node, '8080');
    try {
      const r = await check('--runbook', runbook);
      expect(r.exitCode, explain(r)).toBe(1);
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
      expect(r.exitCode, explain(r)).toBe(1);
      expect(failures(parse(r.stdout))).toEqual([
        expect.objectContaining({ check: 'ip-route', node, message: expect.stringMatching(/default route/) }),
      ]);
      const table = await check('--runbook', runbook, '--node', node);
      expect(table.exitCode).toBe(1);
      expect(table.stdout).toMatch(new RegExp(`^FAIL\\s+ip-route\\s+${node}\\s.*default route`, 'm'));
      expect(table.stdout).toMatch(/^\s+evidence: /m);

      const elsewhere = await check('--runbook', runbook, '--node', other);
      expect(elsewhere.exitCode, explain(elsewhere)).toBe(0);
    } finally {
      await healFault('default-route', node);
    }
  });
});
