import { describe, expect, it } from 'vitest';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { formatTrafficWarning } from '../../../src/plan/traffic-warnings.js';
import type { Plan } from '../../../src/plan/types.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import type { SwarmService } from '../../../src/transport/types.js';
import { FakeSwarm, manager, node, service, task } from '../../support/fake-swarm.js';
import { cluster, runbookFrom } from '../../support/runbook-factory.js';

/** A runbook draining the named workers; `drain` is the drain stage's extra fields. */
function runbookFor(names: string[], drain = '', extra = '') {
  return runbookFrom(`
version: 1
name: traffic
targets: { roles: [worker], names: [${names.join(', ')}] }
stages:
  - { kind: drain, name: drain, timeout: 2m${drain ? `, ${drain}` : ''} }
  - { kind: run, name: patch, commands: ["true"] }
  - { kind: activate, name: rejoin }
${extra}`);
}

/** A swarm of one manager and the workers w1..wN, all ready and active. */
function swarmOf(workers: number): FakeSwarm {
  const nodes = [manager('m1', true)];
  for (let i = 1; i <= workers; i++) nodes.push(node(`w${i}`));
  return new FakeSwarm(nodes);
}

/** A service with one running task on each of the given nodes. */
function deploy(swarm: FakeSwarm, name: string, onNodes: string[], over: Partial<SwarmService> = {}) {
  const svc = service(name, { replicas: onNodes.length, ...over });
  swarm.services.push(svc);
  for (const n of onNodes) swarm.tasks.push(task(svc, swarm.node(n)));
  return svc;
}

async function planFor(swarm: FakeSwarm, names: string[], drain = '', extra = ''): Promise<Plan> {
  return planRollout(runbookFor(names, drain, extra), await readClusterFacts(swarm));
}

const lines = (plan: Plan) => (plan.traffic ?? []).map(formatTrafficWarning);

describe('planTrafficWarnings: one replica', () => {
  it('says moveFirst starts a second task before the drain, when another node can take it', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web-single', ['w2'], {
      ports: [{ published: 8081, target: 80, protocol: 'tcp', mode: 'ingress' }],
    });
    const plan = await planFor(swarm, ['w2']);
    expect(plan.traffic).toEqual([
      {
        kind: 'single-replica',
        service: 'web-single',
        nodes: ['w2'],
        problem: 'web-single has 1 replica (on w2)',
        action:
          'drydock starts a second task on another node before draining w2 and waits for it (moveFirst)',
      },
    ]);
  });

  it('says its published port is down during a plain drain, and how to avoid it', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web-single', ['w2'], {
      ports: [{ published: 8081, target: 80, protocol: 'tcp', mode: 'ingress' }],
    });
    const plan = await planFor(swarm, ['w2'], 'moveFirst: false');
    expect(lines(plan)).toEqual([
      'web-single has 1 replica (on w2): drydock drains the plain way: its published port 8081 is down while w2 drains: set moveFirst: true on the drain stage, or scale it to 2',
    ]);
  });

  it('says moveFirst falls back when max-per-node leaves no room for a second task', async () => {
    const swarm = swarmOf(2);
    deploy(swarm, 'solo', ['w1'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const plan = await planFor(swarm, ['w1']);
    expect(lines(plan)).toEqual([
      'solo has 1 replica (on w1): moveFirst cannot place a second task (at most 1 per node, constraints node.role==worker), so drydock drains the plain way: it is down while w1 drains: raise its replicas-max-per-node or make room on another node',
    ]);
  });

  it('says the drain halts when no other node may run it', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'pinned', ['w1'], {
      constraints: ['node.hostname==w1'],
      ports: [{ published: 9000, target: 80, protocol: 'tcp', mode: 'ingress' }],
    });
    const plan = await planFor(swarm, ['w1']);
    expect(plan.traffic?.[0]?.action).toBe(
      'no other node can run it (constraints node.hostname==w1): its published port 9000 is down, and the drain stage, which waits for every service at full count, halts after 2m: let it run on another node',
    );
  });
});

describe('planTrafficWarnings: healthcheck and stop grace period', () => {
  it('warns about a service spec without a HEALTHCHECK, or with it disabled, not one with it', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'api', ['w1', 'w2'], { healthcheck: 'not-in-spec' });
    deploy(swarm, 'cache', ['w1', 'w3'], { healthcheck: 'disabled' });
    deploy(swarm, 'db', ['w1', 'w2'], { healthcheck: 'defined' });
    const plan = await planFor(swarm, ['w1']);
    expect(lines(plan)).toEqual([
      'api has no HEALTHCHECK in the service spec: drydock can only wait for its replacements to be running, not ready to serve',
      'cache has its HEALTHCHECK disabled (--no-healthcheck): drydock can only wait for its replacements to be running, not ready to serve',
    ]);
    expect(plan.traffic?.map((w) => w.kind)).toEqual(['no-healthcheck', 'no-healthcheck']);
  });

  it('warns about a stop grace period under 2 s, global services included; 2 s and the default are fine', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'quick', ['w1', 'w2'], { stopGracePeriodMs: 1000 });
    deploy(swarm, 'edge', ['w1', 'w2', 'w3'], { mode: 'global', stopGracePeriodMs: 0 });
    deploy(swarm, 'two', ['w1', 'w2'], { stopGracePeriodMs: 2000 });
    deploy(swarm, 'default', ['w1', 'w2'], { stopGracePeriodMs: 10_000 });
    const plan = await planFor(swarm, ['w1']);
    expect(lines(plan)).toEqual([
      'edge stop-grace-period is 0s: in-flight requests are cut when its tasks stop; drydock cannot lengthen it (docker service update --stop-grace-period 10s edge)',
      'quick stop-grace-period is 1s: in-flight requests are cut when its tasks stop; drydock cannot lengthen it (docker service update --stop-grace-period 10s quick)',
    ]);
  });

  it('lists every drained node a service has tasks on, in plan order', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'api', ['w3', 'w1'], { healthcheck: 'not-in-spec' });
    const plan = await planFor(swarm, ['w1', 'w2', 'w3']);
    expect(plan.traffic?.map((w) => w.nodes)).toEqual([['w1', 'w3']]);
  });
});

describe('planTrafficWarnings: replicas-max-per-node', () => {
  it('says moveFirst cannot place an extra task when the nodes left hold exactly the replicas', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web', ['w1', 'w2'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const plan = await planFor(swarm, ['w2']);
    expect(lines(plan)).toEqual([
      'web: 2 replicas, at most 1 per node, 3 eligible nodes: while w2 is drained only 2 can take it (moveFirst needs 3): moveFirst cannot place an extra task, so drydock drains the plain way: its task on w2 stops before its replacement runs',
    ]);
    // A plain drain fits: nothing to say.
    expect(lines(await planFor(swarm, ['w2'], 'moveFirst: false'))).toEqual([]);
  });

  it('says the service runs short and the drain halts when the nodes left cannot hold the replicas', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web', ['w1', 'w2', 'w3'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const plan = await planFor(swarm, ['w2'], 'moveFirst: false');
    expect(lines(plan)).toEqual([
      'web: 3 replicas, at most 1 per node, 3 eligible nodes: while w2 is drained only 2 can take it (needs 3): the service runs 1 task short while w2 is drained, and the drain stage, which waits for every service at full count, halts after 2m: lower its replicas or raise its replicas-max-per-node, or add a node it may run on',
    ]);
    expect(lines(await planFor(swarm, ['w2']))[0]).toMatch(
      /needs 3\): moveFirst cannot place an extra task either; the service runs 1 task short/,
    );
  });

  it('counts the nodes of the same batch as drained too', async () => {
    const swarm = swarmOf(4);
    deploy(swarm, 'web', ['w1', 'w2'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const plan = await planFor(swarm, ['w1', 'w2'], 'moveFirst: false', 'rollout: { concurrency: 2 }');
    // w1 and w2 drain together: w3 and w4 take the 2 replicas, so a plain drain fits.
    expect(plan.traffic).toEqual([]);
    // Three in one batch leave one node for two replicas.
    const wide = swarmOf(4);
    deploy(wide, 'web', ['w1', 'w2'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const crowded = await planFor(
      wide,
      ['w1', 'w2', 'w3'],
      'moveFirst: false',
      'rollout: { concurrency: 3 }',
    );
    expect(crowded.traffic?.map((w) => w.problem)).toEqual([
      'web: 2 replicas, at most 1 per node, 4 eligible nodes: while w1 is drained only 1 can take it (needs 2)',
      'web: 2 replicas, at most 1 per node, 4 eligible nodes: while w2 is drained only 1 can take it (needs 2)',
    ]);
  });

  it('counts nodes drained earlier and never re-activated as gone for later drains', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web', ['w2', 'w3'], { maxReplicasPerNode: 1, constraints: ['node.role==worker'] });
    const noActivate = runbookFrom(`
version: 1
name: drain-only
targets: { roles: [worker] }
stages:
  - { kind: drain, name: drain, timeout: 2m, moveFirst: false }
`);
    const plan = planRollout(noActivate, await readClusterFacts(swarm));
    // w1 stays drained: while w2 drains only w3 is left for 2 replicas; with w1 and w2 out, w3 too.
    expect(plan.traffic?.map((w) => w.problem)).toEqual([
      'web: 2 replicas, at most 1 per node, 3 eligible nodes: while w2 is drained only 1 can take it (needs 2)',
      'web: 2 replicas, at most 1 per node, 3 eligible nodes: while w3 is drained only 0 can take it (needs 2)',
    ]);
    // Re-activated after each node: a plain drain of w2 leaves w1 and w3, enough.
    expect((await planFor(swarm, ['w1', 'w2', 'w3'], 'moveFirst: false')).traffic).toEqual([]);
  });

  it('leaves out nodes that are not ready and active, and says nothing about constraints it cannot read', async () => {
    const swarm = swarmOf(3);
    swarm.node('w3').availability = 'pause';
    deploy(swarm, 'web', ['w1', 'w2'], { maxReplicasPerNode: 1 });
    deploy(swarm, 'odd', ['w1', 'w2'], { maxReplicasPerNode: 1, constraints: ['node.platform.os==linux'] });
    const plan = await planFor(swarm, ['w1']);
    // m1 counts: no constraint keeps web off the manager.
    expect(plan.traffic?.map((w) => w.problem)).toEqual([
      'web: 2 replicas, at most 1 per node, 3 eligible nodes: while w1 is drained only 2 can take it (moveFirst needs 3)',
    ]);
  });
});

describe('planTrafficWarnings: what is left alone', () => {
  it('says nothing about services without tasks on a drained node, or nodes whose drain is skipped', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'elsewhere', ['w3'], { healthcheck: 'not-in-spec', stopGracePeriodMs: 0 });
    deploy(swarm, 'on-drained', ['w1'], { healthcheck: 'not-in-spec' });
    swarm.node('w1').availability = 'drain';
    const plan = await planFor(swarm, ['w1', 'w2']);
    expect(plan.traffic).toEqual([]);
    expect(renderPlanText(plan)).toContain(
      'traffic: nothing to warn about for the services on drained nodes',
    );
  });

  it('says nothing when the runbook has no drain stage', async () => {
    const swarm = swarmOf(2);
    deploy(swarm, 'solo', ['w1'], { healthcheck: 'not-in-spec' });
    const rb = runbookFrom(`
version: 1
name: no-drain
targets: { roles: [worker] }
stages:
  - { kind: run, name: look, commands: ["true"] }
`);
    expect(planRollout(rb, await readClusterFacts(swarm)).traffic).toEqual([]);
  });

  it('has no traffic section for an inventory plan (it cannot say where tasks run)', () => {
    const plan = planRollout(runbookFor(['w1']), cluster([manager('m1', true), node('w1'), node('w2')]));
    expect(plan).not.toHaveProperty('traffic');
    expect(renderPlanText(plan)).not.toMatch(/^traffic/m);
    expect(renderPlanMarkdown(plan)).not.toContain('## Traffic');
  });

  it('orders warnings by service, then per node, then healthcheck, then stop grace', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'zeta', ['w1'], { healthcheck: 'not-in-spec', stopGracePeriodMs: 500 });
    deploy(swarm, 'alpha', ['w1', 'w2'], { stopGracePeriodMs: 500 });
    const plan = await planFor(swarm, ['w1', 'w2']);
    expect(plan.traffic?.map((w) => `${w.service} ${w.kind}`)).toEqual([
      'alpha short-stop-grace',
      'zeta single-replica',
      'zeta no-healthcheck',
      'zeta short-stop-grace',
    ]);
    expect(plan.traffic?.[3]?.problem).toBe('zeta stop-grace-period is 500ms');
  });
});

describe('plan renderers: the traffic section', () => {
  it('shows each warning with what drydock does, in text and Markdown', async () => {
    const swarm = swarmOf(3);
    deploy(swarm, 'web-single', ['w2'], { healthcheck: 'not-in-spec' });
    const plan = await planFor(swarm, ['w2']);
    const text = renderPlanText(plan);
    expect(text).toContain('traffic (services on drained nodes):');
    expect(text).toContain(
      '  warning: web-single has 1 replica (on w2): drydock starts a second task on another node before draining w2 and waits for it (moveFirst)',
    );
    const markdown = renderPlanMarkdown(plan);
    expect(markdown).toContain('## Traffic');
    expect(markdown).toContain(
      '- **web-single has no HEALTHCHECK in the service spec**: drydock can only wait for its replacement to be running, not ready to serve',
    );
  });
});

describe('planTrafficWarnings: one manager', () => {
  it('says nothing replaces a failed task while the only manager is maintained', async () => {
    const swarm = swarmOf(2);
    deploy(swarm, 'web', ['w1', 'w2']);
    const runbook = runbookFrom(`
version: 1
name: traffic
stages:
  - { kind: drain, name: drain, timeout: 2m }
  - { kind: activate, name: rejoin }
`);
    const plan = planRollout(runbook, await readClusterFacts(swarm));
    expect(plan.traffic?.filter((w) => w.kind === 'single-manager')).toEqual([
      expect.objectContaining({
        nodes: ['m1'],
        problem: 'the swarm has one manager (m1)',
        action: expect.stringMatching(/nothing replaces a task that stops elsewhere.*until m1 is back/),
      }),
    ]);
    // Workers only: the manager keeps orchestrating, nothing to say.
    const workers = await planFor(swarm, ['w1']);
    expect(workers.traffic?.some((w) => w.kind === 'single-manager')).toBe(false);
  });
});
