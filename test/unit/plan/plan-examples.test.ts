import { describe, expect, it } from 'vitest';
import { parseInventoryFile } from '../../../src/plan/inventory.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { parseRunbookFile } from '../../../src/runbook/parse.js';

/** The bundled runbooks planned against the bundled inventory: what `npm run demo` shows. */
async function planExample(name: string) {
  const runbook = await parseRunbookFile(`runbooks/${name}.yaml`, { env: {} });
  const facts = await parseInventoryFile('fixtures/inventory/example.yaml');
  return planRollout(runbook, facts);
}

describe('plans of the example runbooks on the example inventory', () => {
  it('rolling-patch: workers first, mgr-2 (the leader) last, the paused worker left paused', async () => {
    const plan = await planExample('rolling-patch');
    expect(plan.nodes.map((n) => n.name)).toEqual([
      'wrk-1',
      'wrk-2',
      'wrk-3',
      'wrk-4',
      'mgr-1',
      'mgr-3',
      'mgr-2',
    ]);
    const text = renderPlanText(plan);
    expect(text).toMatch(/7\. mgr-2 +leader, last/);
    expect(text).toContain(
      '$ sudo DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold upgrade',
    );
    expect(text).toContain('? reboot only if /var/run/reboot-required exists on the node');
    expect(text).toContain('$ sudo reboot');
    const paused = plan.nodes.find((n) => n.availabilityBefore === 'pause');
    expect(paused, 'the example inventory has a paused worker').toBeDefined();
    expect(text).toContain(`note: was pause before the run: drydock will not re-activate it`);
    expect(text).toContain('Nothing was changed: this is a preview.');
  });

  it('engine-upgrade: the pinned version substituted into the install command, the version check planned', async () => {
    const plan = await planExample('engine-upgrade');
    const upgrade = plan.nodes[0]!.stages.find((s) => s.name === 'upgrade');
    if (upgrade?.kind !== 'run') throw new Error('expected a run stage named upgrade');
    expect(upgrade.commands[0]!.display).toContain('docker.io=20.10.24+dfsg1-1+deb12u1');
    expect(plan.checks.afterNode).toContain('engine-version');
  });

  it('verify-only: checks only, no drain, no command', async () => {
    const plan = await planExample('verify-only');
    for (const node of plan.nodes) expect(node.stages.map((s) => s.kind)).toEqual(['checks']);
  });

  it('renders stable JSON and markdown', async () => {
    const plan = await planExample('rolling-patch');
    const json = JSON.parse(JSON.stringify(plan));
    expect(json).toMatchObject({ formatVersion: 1, cluster: { leader: 'mgr-2', managers: 3, nodes: 7 } });
    expect(json.nodes[0].stages[1].commands[0]).toEqual({
      template: 'apt-get update',
      display: 'apt-get update',
      hasSecrets: false,
    });
    const md = renderPlanMarkdown(plan);
    expect(md).toContain('# Maintenance plan: rolling-patch');
    expect(md).toMatch(/\| 7 \| `mgr-2` \| manager \(leader\) \| 7 \| leader, last/);
  });
});
