import { describe, expect, it } from 'vitest';
import { SafetyRefusal } from '../../../src/errors.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { manager, node } from '../../support/fake-swarm.js';
import { cluster, FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

const fiveStages = runbookFrom(FIVE_STAGES);

describe('planRollout', () => {
  it('puts workers first, then managers one at a time, the leader last', () => {
    const facts = cluster([manager('m1', true), manager('m2'), manager('m3'), node('w1'), node('w2')]);
    const plan = planRollout(fiveStages, facts);
    expect(plan.nodes.map((n) => n.name)).toEqual(['w1', 'w2', 'm2', 'm3', 'm1']);
    expect(plan.batches.map((b) => b.nodes)).toEqual([['w1'], ['w2'], ['m2'], ['m3'], ['m1']]);
    expect(plan.nodes.at(-1)?.reason).toMatch(/^leader, last/);
  });

  it('batches workers by concurrency but never managers', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\nrollout: { concurrency: 2 }\n`);
    const facts = cluster([
      manager('m1', true),
      manager('m2'),
      manager('m3'),
      node('w1'),
      node('w2'),
      node('w3'),
    ]);
    const plan = planRollout(rb, facts);
    expect(plan.batches.map((b) => b.nodes)).toEqual([['w1', 'w2'], ['w3'], ['m2'], ['m3'], ['m1']]);
  });

  it('keeps an explicit order for workers but still puts the leader last, with a warning', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\nrollout: { order: [m1, w2, w1] }\n`);
    const plan = planRollout(
      rb,
      cluster([manager('m1', true), manager('m2'), manager('m3'), node('w1'), node('w2')]),
    );
    expect(plan.nodes.map((n) => n.name)).toEqual(['w2', 'w1', 'm2', 'm3', 'm1']);
    expect(plan.warnings.join('\n')).toMatch(/adjusted for safety/);
  });

  it('refuses manager maintenance while another manager is unreachable', () => {
    const facts = cluster([
      manager('m1', true),
      manager('m2', false, { reachability: 'unreachable' }),
      manager('m3'),
      node('w1'),
    ]);
    expect(() => planRollout(fiveStages, facts)).toThrow(SafetyRefusal);
    expect(() => planRollout(fiveStages, facts)).toThrow(/m2 \(unreachable/);
  });

  it('allows a workers-only plan while a manager is unreachable', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\ntargets: { roles: [worker] }\n`);
    const facts = cluster([
      manager('m1', true),
      manager('m2', false, { reachability: 'unreachable' }),
      manager('m3'),
      node('w1'),
    ]);
    const plan = planRollout(rb, facts);
    expect(plan.nodes.map((n) => n.name)).toEqual(['w1']);
    expect(plan.skipped.map((s) => s.name).sort()).toEqual(['m1', 'm2', 'm3']);
  });

  it('refuses a two-manager swarm (one down loses quorum)', () => {
    expect(() => planRollout(fiveStages, cluster([manager('m1', true), manager('m2'), node('w1')]))).toThrow(
      /quorum/,
    );
  });

  it('selects by label and name, and says why others are skipped', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\ntargets: { labels: { zone: a }, exclude: [w3] }\n`);
    const facts = cluster([
      manager('m1', true),
      node('w1', { labels: { zone: 'a' } }),
      node('w2', { labels: { zone: 'b' } }),
      node('w3', { labels: { zone: 'a' } }),
    ]);
    const plan = planRollout(rb, facts);
    expect(plan.nodes.map((n) => n.name)).toEqual(['w1']);
    expect(plan.skipped).toContainEqual({ name: 'w3', reason: 'excluded by targets.exclude' });
    expect(plan.skipped.find((s) => s.name === 'w2')?.reason).toMatch(/labels do not match zone=a/);
  });

  it('refuses a runbook that names a node the cluster does not have', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\ntargets: { names: [w9] }\n`);
    expect(() => planRollout(rb, cluster([manager('m1', true), node('w1')]))).toThrow(/w9/);
  });

  it('never plans to re-activate a node that was paused before the run', () => {
    const plan = planRollout(
      fiveStages,
      cluster([manager('m1', true), node('w1', { availability: 'pause' })]),
    );
    const w1 = plan.nodes.find((n) => n.name === 'w1')!;
    expect(w1.notes.join()).toMatch(/will not re-activate/);
    const drain = w1.stages.find((s) => s.kind === 'drain')!;
    const activate = w1.stages.find((s) => s.kind === 'activate')!;
    expect(drain.kind === 'drain' && drain.skipReason).toBeUndefined();
    expect(activate.kind === 'activate' && activate.skipReason).toMatch(/only re-activates nodes it drained/);
  });

  it('substitutes variables shell-quoted and masks secrets in the plan', () => {
    const rb = runbookFrom(`
version: 1
name: vars
variables:
  pkg: "docker.io=20.10.24+dfsg1-1+deb12u1"
  motd: "it's patched; rm -rf /"
  token: { value: "hunter2-secret", secret: true }
stages:
  - kind: run
    commands: ["apt-get install -y \${pkg}", "echo \${motd} > /etc/motd", "login --token \${token} \${node.name}"]
`);
    const plan = planRollout(rb, cluster([manager('m1', true), node('w1')]));
    const run = plan.nodes[0]!.stages[0]!;
    if (run.kind !== 'run') throw new Error('expected a run stage');
    expect(run.commands.map((c) => c.display)).toEqual([
      'apt-get install -y docker.io=20.10.24+dfsg1-1+deb12u1',
      `echo 'it'\\''s patched; rm -rf /' > /etc/motd`,
      'login --token ***** w1',
    ]);
    expect(JSON.stringify(plan)).not.toContain('hunter2-secret');
    expect(plan.variables.find((v) => v.name === 'token')?.value).toBe('*****');
  });

  it('marks what cannot be known in advance', () => {
    const rb = runbookFrom(`
version: 1
name: r
stages:
  - { kind: reboot, when: if-required }
`);
    const stage = planRollout(rb, cluster([manager('m1', true), node('w1')])).nodes[0]!.stages[0]!;
    expect(stage.conditions).toContain('reboot only if /var/run/reboot-required exists on the node');
  });

  it('plans 1000 nodes with every node and stage present', () => {
    const nodes = [manager('m1', true), manager('m2'), manager('m3')];
    for (let i = 0; i < 997; i++) nodes.push(node(`w${i}`));
    const plan = planRollout(fiveStages, cluster(nodes));
    expect(plan.nodes).toHaveLength(1000);
    expect(plan.nodes.at(-1)?.name).toBe('m1');
    expect(plan.nodes.every((n) => n.stages.length === 5)).toBe(true);
  });
});

describe('pause stages in the plan', () => {
  const rb = runbookFrom(`
version: 1
name: soak
stages:
  - { kind: pause, name: soak, duration: 30s, reason: let the caches warm up }
  - { kind: pause, name: short, duration: 500ms }
`);
  const plan = planRollout(rb, cluster([manager('m1', true), node('w1')]));

  it('shows the duration and the reason in text, markdown and JSON', () => {
    expect(renderPlanText(plan)).toContain('pause 30s — let the caches warm up');
    expect(renderPlanText(plan)).toMatch(/pause 500ms\n/);
    expect(renderPlanMarkdown(plan)).toContain('- pause 30s — let the caches warm up');
    const [soak, short] = JSON.parse(JSON.stringify(plan)).nodes[0].stages;
    expect(soak).toMatchObject({
      kind: 'pause',
      name: 'soak',
      durationMs: 30_000,
      reason: 'let the caches warm up',
    });
    expect(short).toMatchObject({ kind: 'pause', durationMs: 500 });
    expect(short).not.toHaveProperty('reason');
  });

  it('refuses a pause that is empty or longer than the schema allows', () => {
    for (const duration of ['0s', '2h']) {
      expect(() =>
        runbookFrom(`version: 1\nname: x\nstages:\n  - { kind: pause, duration: ${duration} }\n`),
      ).toThrow(/problem/);
    }
  });
});

describe('planRollout: hazards it names', () => {
  it('refuses a swarm that lists one hostname twice, naming the clashing node IDs', () => {
    // A replaced node beside its stale Down entry: everything keyed on the hostname would be ambiguous.
    const facts = cluster([
      manager('m1', true),
      node('w1', { id: 'k3p9old', state: 'down' }),
      node('w2'),
      node('w1', { id: 'x7q2new' }),
    ]);
    const error = (() => {
      try {
        planRollout(fiveStages, facts);
      } catch (e) {
        return e as SafetyRefusal;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SafetyRefusal);
    expect(error?.message).toBe(
      'the swarm lists a hostname more than once: `w1` is node k3p9old (down, active) and x7q2new (ready, active)',
    );
    expect(error?.hint).toBe(
      "a replaced node's stale entry? remove it from a manager: docker node rm k3p9old",
    );
  });

  it('flags a window that is already over', () => {
    const rb = runbookFrom(
      `${FIVE_STAGES}\nrollout: { window: { start: "2026-11-28T22:00:00Z", end: "2026-11-29T02:00:00Z" } }\n`,
    );
    const facts = cluster([manager('m1', true), node('w1')]);
    expect(planRollout(rb, facts, { now: Date.parse('2026-11-29T03:00:00Z') }).warnings).toContain(
      'the maintenance window ended at 2026-11-29T02:00:00.000Z: `drydock run` will refuse to start',
    );
    expect(
      planRollout(rb, facts, { now: Date.parse('2026-11-28T23:00:00Z') }).warnings.filter((w) =>
        w.includes('window'),
      ),
    ).toEqual([]);
  });

  it('warns when concurrency is larger than the number of targeted workers', () => {
    const rb = runbookFrom(`${FIVE_STAGES}\nrollout: { concurrency: 5 }\n`);
    const plan = planRollout(rb, cluster([manager('m1', true), node('w1'), node('w2')]));
    expect(plan.warnings).toContain(
      'rollout.concurrency is 5 but only 2 workers are targeted: batches hold 2 at most',
    );
    const fits = runbookFrom(`${FIVE_STAGES}\nrollout: { concurrency: 2 }\n`);
    expect(
      planRollout(fits, cluster([manager('m1', true), node('w1'), node('w2')])).warnings.filter((w) =>
        w.includes('concurrency'),
      ),
    ).toEqual([]);
  });

  it('warns about a variable whose environment variable is unset, secret or not, and shows it unset', () => {
    const rb = runbookFrom(
      FIVE_STAGES.replace(
        'stages:',
        'variables:\n  token: { env: DRYDOCK_TEST_TOKEN, secret: true }\n  mirror: { env: DRYDOCK_TEST_MIRROR }\nstages:',
      ),
    );
    const plan = planRollout(rb, cluster([manager('m1', true), node('w1')]));
    expect(plan.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'variable `token` (secret) has no value: environment variable $DRYDOCK_TEST_TOKEN is not set',
        ),
        expect.stringContaining(
          'variable `mirror` has no value: environment variable $DRYDOCK_TEST_MIRROR is not set',
        ),
      ]),
    );
    expect(plan.variables.find((v) => v.name === 'token')?.value).toBe('<unset: $DRYDOCK_TEST_TOKEN>');
  });

  it('gives the Markdown plan the window, the pre-flight checks and the variables, like the text plan', () => {
    const rb = runbookFrom(
      FIVE_STAGES.replace('stages:', 'variables:\n  mirror: "a|b"\nstages:') +
        '\nrollout: { window: { start: "2026-11-28T23:00:00Z", end: "2026-11-29T03:00:00Z" } }\n',
    );
    const md = renderPlanMarkdown(planRollout(rb, cluster([manager('m1', true), node('w1')])));
    expect(md).toContain('- Window: 2026-11-28T23:00:00.000Z → 2026-11-29T03:00:00.000Z');
    expect(md).toMatch(/- Pre-flight checks: `\S+`/);
    expect(md).toContain('| `mirror` | `a\\|b` | runbook |');
  });
});
