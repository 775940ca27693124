import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { executePlan } from '../../../src/executor/execute-plan.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import type { Plan } from '../../../src/plan/types.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { EventLog, FakeChecks, FakeCluster, fakeExecutorOptions } from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../support/fake-swarm.js';
import { runbookFrom } from '../../support/runbook-factory.js';

const SKIPPING = `
version: 1
name: skipping
variables:
  engine_version: "24.0.7"
checks:
  between: []
  afterNode: []
targets:
  roles: [worker]
stages:
  - { kind: drain, name: drain, timeout: 1m }
  - kind: run
    name: patch
    commands: ["apt-get -y upgrade"]
    skipIf: { noUpgradablePackages: true }
  - kind: run
    name: upgrade
    commands: ["apt-get install -y docker-ce=\${engine_version}"]
    skipIf: { engineVersion: "\${engine_version}" }
  - { kind: activate, name: rejoin }
`;

/** A two-worker cluster whose nodes answer the built-in probes as `state` says. */
function setUp(state: Record<string, { upgradable: number; engine: string }>, yaml = SKIPPING) {
  const swarm = new FakeSwarm([manager('m1', true), node('w1'), node('w2')]);
  const cluster = new FakeCluster(swarm);
  cluster.respond = (command, host) => {
    const s = state[host];
    if (!s) return undefined;
    if (command.includes('apt-get -s upgrade')) {
      return s.upgradable === 0
        ? { stdout: 'no packages upgradable\n' }
        : { stdout: `${s.upgradable} packages upgradable\n`, exitCode: 1 };
    }
    if (command.includes('docker version --format')) {
      // The real shell compares; the fake answers as the node would.
      return command.includes(`= '${s.engine}'`) || command.includes(`= ${s.engine} ]`)
        ? { stdout: `engine already at ${s.engine}\n` }
        : { stdout: `engine at ${s.engine}, not 24.0.7\n`, exitCode: 1 };
    }
    return undefined;
  };
  return { swarm, cluster, runbook: runbookFrom(yaml) };
}

async function run(setup: ReturnType<typeof setUp>) {
  const plan = planRollout(setup.runbook, await readClusterFacts(setup.swarm));
  const log = new EventLog();
  const outcome = await executePlan(
    fakeExecutorOptions({
      plan,
      runbook: setup.runbook,
      cluster: setup.cluster,
      checks: new FakeChecks(),
      reporter: log,
    }),
  );
  return { outcome, log, plan };
}

describe('skipIf', () => {
  it('skips a node whose every run stage is already done, without draining it, and journals why', async () => {
    const setup = setUp({ w1: { upgradable: 0, engine: '24.0.7' }, w2: { upgradable: 2, engine: '24.0.7' } });
    const { outcome, log } = await run(setup);
    expect(outcome).toBe('succeeded');
    expect(log.ofType('drained').map((e) => e.node)).toEqual(['w2']);
    expect(setup.cluster.commands.filter((c) => c.node === 'w1').map((c) => c.command)).not.toContain(
      'apt-get -y upgrade',
    );
    const w1End = log.ofType('node-end').find((e) => e.node === 'w1');
    expect(w1End?.skipped).toBe(
      'already done (patch: no packages upgradable; upgrade: engine already at 24.0.7)',
    );
    const w1Stages = log.ofType('stage-end').filter((e) => e.node === 'w1');
    expect(w1Stages.map((e) => [e.stage, e.outcome])).toEqual([
      ['drain', 'skipped'],
      ['patch', 'skipped'],
      ['upgrade', 'skipped'],
      ['rejoin', 'skipped'],
    ]);
    // w2: patch runs (2 upgradable), the engine upgrade is skipped on its own, with the reason.
    const w2Upgrade = log.ofType('stage-end').find((e) => e.node === 'w2' && e.stage === 'upgrade');
    expect(w2Upgrade).toMatchObject({
      outcome: 'skipped',
      message: 'already done: engine already at 24.0.7',
    });
    expect(setup.cluster.commands.some((c) => c.node === 'w2' && c.command === 'apt-get -y upgrade')).toBe(
      true,
    );
  });

  it('runs the stage when the condition does not hold', async () => {
    const setup = setUp({
      w1: { upgradable: 1, engine: '20.10.24' },
      w2: { upgradable: 1, engine: '20.10.24' },
    });
    const { outcome, log } = await run(setup);
    expect(outcome).toBe('succeeded');
    expect(log.ofType('drained')).toHaveLength(2);
    expect(log.ofType('stage-end').filter((e) => e.outcome === 'skipped')).toEqual([]);
    expect(setup.cluster.commands.filter((c) => c.command.startsWith('apt-get install'))).toHaveLength(2);
  });

  it('halts when a condition cannot run at all: an error, not a skip', async () => {
    const setup = setUp({});
    setup.cluster.respond = (command) =>
      command.includes('apt-get -s upgrade')
        ? { exitCode: 2, stderr: 'E: Could not open lock file /var/lib/dpkg/lock-frontend\n' }
        : command.includes('docker version --format')
          ? { stdout: 'engine already at 24.0.7\n' }
          : undefined;
    const { outcome, log } = await run(setup);
    expect(outcome).toBe('halted');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'w1', stage: 'patch' });
    expect(halt.reason).toMatch(/skipIf .* could not tell \(exit 2: E: Could not open lock file/);
    expect(log.ofType('drained')).toEqual([]);
  });

  it('a skipIf command: exit 0 skips with its output; 127 (not found) is an error', async () => {
    const yaml = `
version: 1
name: cmd
variables:
  marker: "/var/lib/done it"
checks: { between: [], afterNode: [] }
targets: { roles: [worker], names: [w1] }
stages:
  - { kind: drain, name: drain }
  - kind: run
    name: patch
    commands: ["touch \${marker}"]
    skipIf: "test -e \${marker} && echo marker present"
  - { kind: activate, name: rejoin }
`;
    const ok = setUp({}, yaml);
    ok.cluster.respond = (command) =>
      command.startsWith('test -e') ? { stdout: 'marker present\n' } : undefined;
    const first = await run(ok);
    expect(first.outcome).toBe('succeeded');
    // The value reached the shell quoted.
    expect(ok.cluster.commands.map((c) => c.command)).toContain(
      "test -e '/var/lib/done it' && echo marker present",
    );
    expect(first.log.ofType('node-end')[0]?.skipped).toBe('already done (patch: marker present)');

    const missing = setUp({}, yaml);
    missing.cluster.respond = (command) =>
      command.startsWith('test -e') ? { exitCode: 127, stderr: 'sh: test: not found\n' } : undefined;
    const second = await run(missing);
    expect(second.outcome).toBe('halted');
    expect(second.log.ofType('halt')[0]!.report.reason).toMatch(/could not tell \(exit 127/);
  });

  it('plans the conditions with their exact commands, quoted, in text, Markdown and JSON', async () => {
    const setup = setUp({});
    const plan: Plan = planRollout(setup.runbook, await readClusterFacts(setup.swarm));
    const upgrade = plan.nodes[0]!.stages.find((s) => s.name === 'upgrade');
    expect(upgrade).toMatchObject({
      skipIf: [{ kind: 'engine-version', label: 'engine already at 24.0.7' }],
    });
    const text = renderPlanText(plan);
    expect(text).toContain('skipped if engine already at 24.0.7 (checked on the node first)');
    expect(text).toContain('skipped if no packages upgradable (apt-get -s upgrade)');
    expect(renderPlanMarkdown(plan)).toContain('skipped if engine already at 24.0.7');
    expect(JSON.parse(JSON.stringify(plan)).nodes[0].stages[1].skipIf[0].command.display).toContain(
      'apt-get -s upgrade',
    );
  });

  it('is refused on a stage that must not be skipped, and when empty, with a located message', () => {
    const onDrain = SKIPPING.replace(
      '{ kind: drain, name: drain, timeout: 1m }',
      '{ kind: drain, name: drain, skipIf: "true" }',
    );
    expect(() => runbookFrom(onDrain)).toThrow(InvalidInputError);
    const empty = SKIPPING.replace('skipIf: { noUpgradablePackages: true }', 'skipIf: {}');
    try {
      runbookFrom(empty);
      expect.unreachable();
    } catch (error) {
      const problems = (error as InvalidInputError).problems;
      expect(problems.map((p) => `${p.path} ${p.message}`).join('\n')).toMatch(
        /stages\[1\]\.skipIf .*name a condition: command, engineVersion or noUpgradablePackages/,
      );
    }
  });

  it('a node the plan skips (--continue-from) is journaled as skipped, never drained', async () => {
    const setup = setUp({ w1: { upgradable: 2, engine: '1' }, w2: { upgradable: 2, engine: '1' } });
    const plan = planRollout(setup.runbook, await readClusterFacts(setup.swarm));
    plan.nodes[0] = { ...plan.nodes[0]!, skip: { reason: 'finished by run r-old' } };
    const log = new EventLog();
    const outcome = await executePlan(
      fakeExecutorOptions({
        plan,
        runbook: setup.runbook,
        cluster: setup.cluster,
        checks: new FakeChecks(),
        reporter: log,
      }),
    );
    expect(outcome).toBe('succeeded');
    expect(log.ofType('drained').map((e) => e.node)).toEqual(['w2']);
    expect(log.ofType('node-end').find((e) => e.node === 'w1')?.skipped).toBe('finished by run r-old');
    expect(setup.cluster.commands.filter((c) => c.node === 'w1')).toEqual([]);
  });
});
