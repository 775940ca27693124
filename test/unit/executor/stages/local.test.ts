import { describe, expect, it } from 'vitest';
import { type ExecutorOptions, executePlan } from '../../../../src/executor/execute-plan.js';
import { readClusterFacts } from '../../../../src/executor/read-cluster-facts.js';
import { describeStage } from '../../../../src/plan/describe-stage.js';
import { planRollout } from '../../../../src/plan/plan-rollout.js';
import type { CommandResult, LocalRunner } from '../../../../src/transport/types.js';
import {
  EventLog,
  FakeChecks,
  FakeCluster,
  fakeClock,
  fakeCommandResult,
  fakeExecutorOptions,
} from '../../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../../support/fake-swarm.js';
import { runbookFrom } from '../../../support/runbook-factory.js';

const RUNBOOK = `
version: 1
name: behind-lb
variables:
  sock: "/run/haproxy/admin sock"
  token: { value: "it's-s3cret", secret: true }
targets: { names: [node2] }
checks: { between: [], afterNode: [] }
stages:
  - kind: local
    name: lb-drain
    commands: ['echo "set server web/\${node.name} state drain \${token}" | socat stdio unix-connect:\${sock}']
    until: { command: "lb-sessions \${node.name} | grep -qx 0", timeout: 10s, interval: 1s }
  - { kind: run, name: patch, commands: ["true"] }
`;

/** A local runner that records what it ran and answers from a script. */
class FakeLocal implements LocalRunner {
  readonly ran: string[] = [];
  constructor(private readonly answer: (command: string, n: number) => Partial<CommandResult>) {}
  async exec(command: string, options: { display?: string } = {}): Promise<CommandResult> {
    this.ran.push(command);
    return fakeCommandResult('local', options.display ?? command, this.answer(command, this.ran.length));
  }
}

async function setup(local: LocalRunner | undefined, over: Partial<ExecutorOptions> = {}) {
  const swarm = new FakeSwarm([manager('node1', true), node('node2')]);
  const runbook = runbookFrom(RUNBOOK);
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const log = new EventLog();
  const cluster = new FakeCluster(swarm);
  const options = fakeExecutorOptions({
    plan,
    runbook,
    cluster,
    checks: new FakeChecks(),
    reporter: log,
    clock: fakeClock(Date.parse('2026-11-28T22:00:00Z')),
    ...(local ? { local } : {}),
    ...over,
  });
  return { log, options, plan, cluster };
}

describe('local stage', () => {
  it('is planned with its quoted commands and its condition, secrets masked', async () => {
    const { plan } = await setup(undefined);
    const stage = plan.nodes[0]!.stages[0]!;
    expect(stage.kind).toBe('local');
    expect(describeStage(stage)).toEqual([
      `local$ echo "set server web/node2 state drain *****" | socat stdio unix-connect:'/run/haproxy/admin sock'`,
      'timeout 1m per command',
      'until local$ lb-sessions node2 | grep -qx 0 exits 0 (every 1s, up to 10s)',
    ]);
    expect(stage.conditions).toContain("runs on the operator's machine, not on the node");
  });

  it('runs on the operator machine with the node substituted and quoted, polls the condition, journals masked', async () => {
    // The LB still shows sessions twice, then none.
    const local = new FakeLocal((command, n) =>
      command.startsWith('lb-sessions') ? { exitCode: n < 4 ? 1 : 0, stdout: n < 4 ? '3\n' : '0\n' } : {},
    );
    const { log, options, cluster } = await setup(local);
    expect(await executePlan(options)).toBe('succeeded');
    expect(local.ran).toEqual([
      `echo "set server web/node2 state drain it's-s3cret" | socat stdio unix-connect:'/run/haproxy/admin sock'`,
      'lb-sessions node2 | grep -qx 0',
      'lb-sessions node2 | grep -qx 0',
      'lb-sessions node2 | grep -qx 0',
    ]);
    // Nothing of it went to the node.
    expect(cluster.commands.some((c) => c.command.includes('socat'))).toBe(false);
    const events = log.events.filter((e) => 'stage' in e && e.stage === 'lb-drain');
    expect(events.map((e) => e.type)).toEqual(['stage-start', 'command', 'command', 'stage-end']);
    expect(JSON.stringify(events)).not.toContain('s3cret');
    expect(events[2]).toMatchObject({ result: { exitCode: 0 }, attempt: 3 });
    expect(events[3]).toMatchObject({ outcome: 'succeeded' });
  });

  it('fails the stage (and halts the run) when the condition does not hold in time, saying which', async () => {
    const local = new FakeLocal((command) => (command.startsWith('lb-sessions') ? { exitCode: 1 } : {}));
    const { log, options } = await setup(local);
    expect(await executePlan(options)).toBe('halted');
    const end = log.events.find((e) => e.type === 'stage-end' && e.stage === 'lb-drain');
    expect(end).toMatchObject({ outcome: 'failed' });
    expect(JSON.stringify(end)).toMatch(
      /local condition `lb-sessions node2 \| grep -qx 0` did not hold within 10s/,
    );
    expect(log.events.some((e) => e.type === 'stage-start' && e.stage === 'patch')).toBe(false);
  });

  it('fails a command that exits non-zero, naming it as local', async () => {
    const local = new FakeLocal((command) => (command.startsWith('echo') ? { exitCode: 2 } : {}));
    const { log, options } = await setup(local);
    expect(await executePlan(options)).toBe('halted');
    const end = log.events.find((e) => e.type === 'stage-end' && e.stage === 'lb-drain');
    expect(JSON.stringify(end)).toMatch(
      /local `echo \\"set server web\/node2 state drain \*\*\*\*\*\\".* exited 2/,
    );
  });
});
