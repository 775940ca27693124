import { describe, expect, it } from 'vitest';
import { buildRunModel } from '../../../src/report/run-report/model.js';
import { renderRunHtml } from '../../../src/report/run-report/render-html.js';
import { renderRunMarkdown } from '../../../src/report/run-report/render-markdown.js';
import { renderTimelineSvg } from '../../../src/report/run-report/timeline-svg.js';
import {
  haltedJournal,
  interruptedJournal,
  resumedJournal,
  succeededJournal,
  truncatedJournal,
} from '../../support/run-journal-factory.js';

const rows = (svg: string) => svg.match(/<g class="row" /g)?.length ?? 0;

describe('run report from recorded journals', () => {
  it('succeeded: every node done, before/after facts, route diff, no resume command', () => {
    const model = buildRunModel(succeededJournal());
    expect(model.outcome).toBe('succeeded');
    expect(model.nodes.map((n) => [n.name, n.state])).toEqual([
      ['node1', 'done'],
      ['node2', 'done'],
      ['node3', 'done'],
    ]);
    expect(model.nodes[0]).toMatchObject({
      availabilityBefore: 'active',
      availabilityAfter: 'active',
      engineBefore: '20.10.24',
      engineAfter: '24.0.7',
      bootBefore: 'boot-node1-a',
      bootAfter: 'boot-node1-b',
      routeDiff: { added: ['10.9.0.0/24 dev eth1'], removed: [] },
    });
    expect(model.resumeCommand).toBeUndefined();
    expect(model.markers.filter((m) => m.kind === 'soak')).toHaveLength(2);
    const html = renderRunHtml(model);
    expect(html).toContain('class="banner outcome-succeeded"');
    expect(html).toContain('<ins>+ 10.9.0.0/24 dev eth1</ins>');
    expect(html).not.toContain('class="marker halt-marker"');
    expect(rows(html)).toBe(3);
  });

  it('halted: banner with node, stage, command, exit code, output, failed check evidence and the resume command', () => {
    const model = buildRunModel(haltedJournal().r.lines);
    expect(model.outcome).toBe('halted');
    const html = renderRunHtml(model);
    const banner = html.slice(html.indexOf('<header'), html.indexOf('</header>'));
    expect(banner).toContain('Halted on node2 at stage patch: command exited with 100');
    expect(banner).toContain('exit 100');
    expect(banner).toContain('E: Could not get lock /var/lib/dpkg/lock-frontend');
    expect(banner).toContain('&quot;state&quot;: &quot;down&quot;');
    expect(banner).toContain('<p class="fix">Fix: power node2 on, then resume</p>');
    expect(banner).toContain('<code class="resume">drydock resume 20240501-120000-abcd</code>');
    expect(html).toContain('class="marker halt-marker"');
    expect(model.nodes.find((n) => n.name === 'node2')).toMatchObject({
      state: 'failed',
      availabilityAfter: 'drain',
    });
    expect(model.nodes.find((n) => n.name === 'node3')?.state).toBe('not started');
    const md = renderRunMarkdown(model, { htmlLink: 'run.html' });
    expect(md).toContain('**Halted on node2 at stage patch');
    expect(md).toContain('  - Fix: power node2 on, then resume');
    expect(md).toContain('Resume with: `drydock resume 20240501-120000-abcd`');
    expect(md).toContain('[run.html](run.html)');
  });

  it('interrupted: says where and how to resume', () => {
    const model = buildRunModel(interruptedJournal());
    expect(model.outcome).toBe('interrupted');
    expect(model.resumeCommand).toBe('drydock resume 20240501-120000-abcd');
    expect(renderRunMarkdown(model)).toContain('Interrupted by the operator on node1');
    expect(renderRunHtml(model)).toContain('interrupted-marker');
  });

  it('resumed: one report across both sessions, resume marker, the idle hours collapsed', () => {
    const model = buildRunModel(resumedJournal());
    expect(model.outcome).toBe('succeeded');
    expect(model.sessions.map((s) => [s.resumed, s.outcome])).toEqual([
      [false, 'halted'],
      [true, 'succeeded'],
    ]);
    expect(model.halt).toBeUndefined();
    expect(model.nodes.map((n) => n.state)).toEqual(['done', 'done', 'done']);
    // node2's failed patch stays in its history, followed by the successful retry.
    expect(model.nodes[1]?.stages.filter((s) => s.name === 'patch').map((s) => s.outcome)).toEqual([
      'failed',
      'succeeded',
    ]);
    const svg = renderTimelineSvg(model);
    expect(svg).toContain('class="resume-marker"');
    expect(svg).toContain('class="break"');
    expect(svg).toContain('class="marker halt-marker"');
  });

  it('truncated: the report says where the journal ends and how to resume', () => {
    const model = buildRunModel(truncatedJournal(), { journalDir: '/srv/runs' });
    expect(model.outcome).toBe('unfinished');
    expect(model.truncated).toMatchObject({
      openStage: { node: 'node2', stage: 'patch' },
      lastEvent: 'output on node2/patch',
    });
    expect(model.resumeCommand).toBe('drydock resume 20240501-120000-abcd --journal-dir /srv/runs');
    const md = renderRunMarkdown(model);
    expect(md).toMatch(
      /The journal ends at entry \d+ \(.*\) after output on node2\/patch; stage patch on node2 had started and has no end/,
    );
    expect(renderRunHtml(model)).toContain('class="seg seg-open"');
  });

  it('the HTML is self-contained: no script, no external resource', () => {
    const html = renderRunHtml(buildRunModel(resumedJournal()));
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(http/i);
  });

  it('secrets stay masked as the journal holds them; HTML is escaped', () => {
    const html = renderRunHtml(buildRunModel(haltedJournal().r.lines));
    expect(html).toContain('Authorization: *****');
    expect(html).not.toMatch(/<[^>]*Authorization/);
  });

  it('Markdown for 10 nodes stays short enough for a ticket', () => {
    const lines = renderRunMarkdown(buildRunModel(succeededJournal(10))).split('\n');
    expect(lines.length).toBeLessThan(200);
  });

  it('100 nodes: one row per node, no two axis labels closer than their width, segment labels only where they fit', () => {
    const svg = renderTimelineSvg(buildRunModel(succeededJournal(100)));
    expect(rows(svg)).toBe(100);
    const ticks = [...svg.matchAll(/<text class="tick" x="([\d.]+)"/g)].map((m) => Number(m[1]));
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(60);
    for (const m of svg.matchAll(
      /<rect x="[\d.]+" y="3" width="([\d.]+)"[^>]*\/><text class="seg-label"[^>]*>([^<]*)</g,
    )) {
      expect(Number(m[1])).toBeGreaterThan(m[2]!.length * 6);
    }
  });
});
