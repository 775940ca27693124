import { describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../../../src/errors.js';
import { checkInventoryText, parseInventoryFile } from '../../../src/plan/inventory.js';
import { formatProblems } from '../../../src/shared/problems.js';

function problemsOf(text: string): string {
  const result = checkInventoryText(text, 'inv.yaml');
  if (result.ok) throw new Error('expected problems');
  return formatProblems(result.problems);
}

const node = (hostname: string, address: string, extra = '') =>
  `  - hostname: ${hostname}\n    address: ${address}\n    engineVersion: 20.10.24\n${extra}`;

describe('parseInventoryFile', () => {
  it('reads the example cluster', async () => {
    const facts = await parseInventoryFile('fixtures/inventory/example.yaml');
    expect(facts.source).toBe('inventory');
    expect(facts.origin).toBe('fixtures/inventory/example.yaml');
    expect(facts.nodes.map((n) => `${n.hostname}:${n.role}${n.leader ? ':leader' : ''}`)).toEqual([
      'mgr-1:manager',
      'mgr-2:manager:leader',
      'mgr-3:manager',
      'wrk-1:worker',
      'wrk-2:worker',
      'wrk-3:worker',
      'wrk-4:worker',
    ]);
    expect(facts.nodes.find((n) => n.hostname === 'wrk-4')?.availability).toBe('pause');
    expect(facts.nodes.find((n) => n.hostname === 'mgr-1')).toMatchObject({
      reachability: 'reachable',
      state: 'ready',
    });
    expect(facts.nodes.find((n) => n.hostname === 'wrk-1')).not.toHaveProperty('reachability');
    expect(new Set(facts.nodes.filter((n) => n.role === 'worker').map((n) => n.labels.zone))).toEqual(
      new Set(['a', 'b']),
    );
    expect(facts.services).toEqual([
      {
        name: 'web',
        mode: 'replicated',
        replicas: 3,
        ports: [{ published: 80, target: 8080, protocol: 'tcp', mode: 'ingress' }],
      },
      {
        name: 'api',
        mode: 'replicated',
        replicas: 2,
        ports: [{ published: 8080, target: 8080, protocol: 'tcp', mode: 'ingress' }],
      },
      { name: 'monitoring_agent', mode: 'global', ports: [] },
    ]);
  });

  it('reads the lab cluster', async () => {
    const facts = await parseInventoryFile('fixtures/inventory/lab-3.yaml');
    expect(facts.nodes.map((n) => [n.hostname, n.address, n.role, n.leader, n.engineVersion, n.id])).toEqual([
      ['node1', '10.77.0.11', 'manager', true, '20.10.24', 'node1'],
      ['node2', '10.77.0.12', 'worker', false, '20.10.24', 'node2'],
      ['node3', '10.77.0.13', 'worker', false, '20.10.24', 'node3'],
    ]);
  });

  it('throws UsageError for a missing file', async () => {
    await expect(parseInventoryFile('fixtures/inventory/nope.yaml')).rejects.toBeInstanceOf(UsageError);
  });

  it('throws InvalidInputError with located problems', async () => {
    await expect(parseInventoryFile('fixtures/invalid/binary.bin')).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('inventory rules', () => {
  it('requires exactly one leader among managers', () => {
    expect(problemsOf(`nodes:\n${node('m1', '10.0.0.1', '    role: manager\n')}`)).toBe(
      'inv.yaml:2:5  nodes[0]  no manager is marked `leader: true`\n  hint: exactly one manager is the leader (docker node ls shows "Leader")\n',
    );
    const two = `nodes:\n${node('m1', 'a', '    role: manager\n    leader: true\n')}${node('m2', 'b', '    role: manager\n    leader: true\n')}`;
    expect(problemsOf(two)).toMatch(/^inv\.yaml:11:13 {2}nodes\[1\]\.leader {2}more than one leader\n/);
    const worker = `nodes:\n${node('m1', 'a', '    role: manager\n    leader: true\n')}${node('w1', 'b', '    role: worker\n    leader: true\n')}`;
    expect(problemsOf(worker)).toMatch(/worker `w1` cannot be the leader/);
  });

  it('requires unique hostnames and addresses', () => {
    const text = `nodes:\n${node('m1', '10.0.0.1', '    role: manager\n    leader: true\n')}${node('m1', '10.0.0.1', '    role: worker\n')}`;
    expect(problemsOf(text)).toBe(
      [
        'inv.yaml:7:15  nodes[1].hostname  duplicate hostname `m1` (also nodes[0])',
        'inv.yaml:8:14  nodes[1].address  duplicate address `10.0.0.1` (also nodes[0])',
        '',
      ].join('\n'),
    );
  });

  it('checks services', () => {
    const text = `nodes:\n${node('m1', 'a', '    role: manager\n    leader: true\n')}services:\n  - name: web\n    ports: [{published: 80, target: 80}]\n  - name: agent\n    mode: global\n    replicas: 2\n    ports: [{published: 80, target: 81}]\n`;
    expect(problemsOf(text)).toBe(
      [
        'inv.yaml:8:5  services[0]  replicated service `web` needs `replicas`',
        'inv.yaml:12:5  services[1].replicas  a global service runs one task per node: remove `replicas`',
        'inv.yaml:13:25  services[1].ports[0].published  port 80/tcp is already published by `web`',
        '',
      ].join('\n'),
    );
  });

  it('uses the runbook messages for schema problems', () => {
    const text = 'nodes:\n  - hostname: m1\n    adress: a\n    role: manger\n    engineVersion: 1\n';
    expect(problemsOf(text)).toBe(
      [
        'inv.yaml:2:5  nodes[0].address  missing required field `address` in `nodes[0]`',
        '  hint: `address`: Node address as Swarm reports it.',
        'inv.yaml:3:5  nodes[0].adress  unknown field `adress`',
        '  hint: did you mean `address`?',
        'inv.yaml:4:11  nodes[0].role  expected one of manager, worker, got `manger`',
        '  hint: did you mean `manager`?',
        'inv.yaml:5:20  nodes[0].engineVersion  expected a string, got `1`',
        '',
      ].join('\n'),
    );
  });

  it('rejects a top-level list', () => {
    expect(problemsOf('- a\n')).toMatch(
      /must be a mapping .* got a list\n {2}hint: an inventory has `nodes:`/,
    );
  });
});

describe('the inventory format in the README', () => {
  it('is a valid inventory, field for field', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile('README.md', 'utf8');
    const block = /\*\*The inventory format\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const result = checkInventoryText(block!, 'README.md');
    expect(result.ok, result.ok ? '' : formatProblems(result.problems)).toBe(true);
  });
});
