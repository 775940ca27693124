import { describe, expect, it } from 'vitest';
import type { CheckResult, NodeCause } from '../../../src/checks/types.js';
import { renderCheckJson, renderCheckTable } from '../../../src/report/check-table.js';

const results: CheckResult[] = [
  { check: 'node-ready', node: 'node1', status: 'pass', message: 'ready, active', durationMs: 3 },
  {
    check: 'ip-route',
    node: 'node2',
    status: 'fail',
    message: 'default route is gone',
    evidence: { removed: ['default via 10.0.0.1 dev eth0'] },
    durationMs: 4,
  },
  { check: 'manager-quorum', status: 'pass', message: '1/1 managers reachable', durationMs: 1 },
  { check: 'node-ready', node: 'node2', status: 'pass', message: 'ready, active', durationMs: 3 },
];

const cause: NodeCause = {
  node: 'node10',
  part: 'engine',
  message: 'engine on node10 not answering (Channel open failure)',
  evidence: { error: 'Channel open failure' },
};
const withCause: CheckResult[] = [
  ...results,
  {
    check: 'node-ready',
    node: 'node10',
    status: 'skipped',
    message: 'skipped: engine on node10 not answering',
    durationMs: 0,
    cause,
  },
  { check: 'ip-route', node: 'node10', status: 'fail', message: 'no default route', durationMs: 0 },
  {
    check: 'swarm-state',
    node: 'node10',
    status: 'fail',
    message: cause.message,
    evidence: cause.evidence,
    durationMs: 0,
    cause,
  },
];

describe('check table', () => {
  it("prints a failure's fix under its evidence, when the check knows one", () => {
    const text = renderCheckTable([
      {
        check: 'ingress-mesh',
        node: 'node2',
        status: 'fail',
        message: 'ingress_sbox missing',
        hint: 'restart the engine without its leftovers',
        durationMs: 1,
      },
    ]);
    expect(text.split('\n').slice(0, 3)).toEqual([
      'STATUS  CHECK         NODE   MESSAGE',
      'FAIL    ingress-mesh  node2  ingress_sbox missing',
      '                             fix: restart the engine without its leftovers',
    ]);
  });

  it('groups by node, cluster-wide rows first, failures first in a group, summarizes', () => {
    expect(renderCheckTable(results, { durationMs: 1234 })).toBe(
      [
        'STATUS  CHECK           NODE       MESSAGE',
        'PASS    manager-quorum  (cluster)  1/1 managers reachable',
        '',
        'PASS    node-ready      node1      ready, active',
        '',
        'FAIL    ip-route        node2      default route is gone',
        '                                   evidence: {"removed":["default via 10.0.0.1 dev eth0"]}',
        'PASS    node-ready      node2      ready, active',
        '',
        'UNHEALTHY: 3 passed, 0 warnings, 1 failed, 0 not applicable in 1.2s',
        '',
      ].join('\n'),
    );
  });

  it("puts a node's cause first in its group, nodes in natural order, then what to run next", () => {
    const text = renderCheckTable(withCause, {
      selection: {
        names: ['node-ready', 'ip-route', 'swarm-state'],
        source: 'runbook lab.yaml: checks.afterNode + checks.between',
        preflight: ['node-ready', 'manager-quorum', 'services-converged'],
      },
      hints: ['ssh root@10.0.0.20 systemctl status docker'],
    });
    const lines = text.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'checks (runbook lab.yaml: checks.afterNode + checks.between): node-ready, ip-route, swarm-state',
      "the run's pre-flight runs instead: node-ready, manager-quorum, services-converged",
    ]);
    const nodes = lines
      .filter((l) => /^(PASS|FAIL|SKIP)/.test(l))
      .map((l) => l.split(/\s+/).slice(0, 3).join(' '));
    expect(nodes).toEqual([
      'PASS manager-quorum (cluster)',
      'PASS node-ready node1',
      'FAIL ip-route node2',
      'PASS node-ready node2',
      'FAIL swarm-state node10',
      'FAIL ip-route node10',
      'SKIP node-ready node10',
    ]);
    expect(text).toMatch(/^UNHEALTHY: 3 passed, 0 warnings, 3 failed, 1 skipped, 0 not applicable$/m);
    expect(text.endsWith('next: ssh root@10.0.0.20 systemctl status docker\n')).toBe(true);
  });

  it('renders JSON with the verdict, the checks run, causes and hints', () => {
    const json = JSON.parse(
      renderCheckJson(withCause, {
        selection: { names: ['node-ready'], source: 'no runbook' },
        causes: [cause],
        hints: ['x'],
      }),
    );
    expect(json).toMatchObject({
      healthy: false,
      counts: { pass: 3, fail: 3, skipped: 1 },
      checks: { names: ['node-ready'], source: 'no runbook' },
      causes: [cause],
      hints: ['x'],
    });
    expect(json.results[0].check).toBe('manager-quorum');
  });
});
