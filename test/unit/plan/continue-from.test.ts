import { describe, expect, it } from 'vitest';
import { SafetyRefusal, UsageError } from '../../../src/errors.js';
import type { PreviousRun } from '../../../src/plan/continue-from.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { manager, node } from '../../support/fake-swarm.js';
import { cluster, FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

const FILE = '/ops/five.yaml';
const facts = cluster([manager('m1', true), node('w1'), node('w2'), node('w3')]);
const runbook = runbookFrom(FIVE_STAGES, FILE);
const idOf = (name: string) => facts.nodes.find((n) => n.hostname === name)!.id;

function previous(over: Partial<PreviousRun> = {}): PreviousRun {
  return {
    runId: 'r-old',
    runbook: { name: 'five', file: FILE, hash: runbook.hash },
    nodes: facts.nodes.map((n) => ({ name: n.hostname, id: n.id })),
    finished: [
      { name: 'w1', how: 'finished' },
      { name: 'w2', how: 'found already done' },
    ],
    ...over,
  };
}

describe('--continue-from', () => {
  it('skips the nodes the earlier run finished, says why in text, Markdown and JSON', () => {
    const plan = planRollout(runbook, facts, { continueFrom: { previous: previous(), runbookFile: FILE } });
    expect(plan.nodes.map((n) => [n.name, n.skip?.reason])).toEqual([
      ['w1', 'finished by run r-old'],
      ['w2', 'found already done by run r-old'],
      ['w3', undefined],
      ['m1', undefined],
    ]);
    expect(plan.continueFrom).toEqual({ runId: 'r-old', nodes: ['w1', 'w2'], notes: [] });
    const text = renderPlanText(plan);
    expect(text).toContain('continue-from r-old: skipping w1, w2');
    expect(text).toContain('skipped whole (not drained, no stage runs): finished by run r-old');
    expect(renderPlanMarkdown(plan)).toContain(
      '**Skipped whole** (not drained, no stage runs): finished by run r-old',
    );
  });

  it('refuses a run of another runbook, saying how it differs', () => {
    expect(() =>
      planRollout(runbook, facts, {
        continueFrom: {
          previous: previous({ runbook: { name: 'other', file: '/ops/other.yaml', hash: 'x' } }),
          runbookFile: FILE,
        },
      }),
    ).toThrow(
      /run r-old is from another runbook: runbook name `other`, not `five`; file \/ops\/other.yaml, not \/ops\/five.yaml/,
    );
    try {
      planRollout(runbook, facts, {
        continueFrom: {
          previous: previous({ runbook: { name: 'other', file: FILE, hash: 'x' } }),
          runbookFile: FILE,
        },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
    }
  });

  it('refuses a run of another cluster, and a finished node that rejoined under a new id', () => {
    const elsewhere = previous({ nodes: [{ name: 'w1', id: 'zzzzzzzzzzzzzz' }] });
    expect(() =>
      planRollout(runbook, facts, { continueFrom: { previous: elsewhere, runbookFile: FILE } }),
    ).toThrow(SafetyRefusal);
    expect(() =>
      planRollout(runbook, facts, { continueFrom: { previous: elsewhere, runbookFile: FILE } }),
    ).toThrow(/was on another cluster: none of its nodes \(w1 \(zzzzzzzzzzzz\)\) is in this swarm/);
    const rejoined = previous({
      nodes: facts.nodes.map((n) => ({ name: n.hostname, id: n.hostname === 'w1' ? 'new-id-of-w1' : n.id })),
    });
    expect(() =>
      planRollout(runbook, facts, { continueFrom: { previous: rejoined, runbookFile: FILE } }),
    ).toThrow(/node w1 was swarm node new-id-of-w1 in run r-old and is .* now: it rejoined or was replaced/);
    expect(idOf('w1')).not.toBe('new-id-of-w1');
  });

  it('goes on when only the runbook content changed, and says so', () => {
    const changed = previous({ runbook: { name: 'five', file: FILE, hash: 'a'.repeat(64) } });
    const plan = planRollout(runbook, facts, { continueFrom: { previous: changed, runbookFile: FILE } });
    expect(plan.continueFrom?.notes[0]).toMatch(/the runbook changed since run r-old .*skipped all the same/);
  });
});
