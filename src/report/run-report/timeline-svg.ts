import { formatDuration } from '../../shared/format-duration.js';
import { escapeHtml as esc } from './escape.js';
import type { MarkerKind, NodeModel, RunModel, StageRun, TimelineMarker } from './model.js';
import { createTimeScale } from './time-scale.js';

/**
 * The timeline picture: one row per node, one segment per stage coloured by outcome, with marks
 * for reboots, check rounds, retries, skips, the halt and resume points; soak gaps on the top
 * row. Pure SVG with <title> tooltips (no script), so it renders offline and anywhere.
 * With many nodes it grows in height and the page scrolls it; labels never overlap because a
 * segment's name is drawn only when it fits and the axis drops ticks that would collide.
 */
const LABEL_W = 170;
const PLOT_W = 960;
const ROW_H = 22;
const AXIS_H = 26;
const RUN_ROW_H = 22;
const CHAR_W = 6.6;

export function renderTimelineSvg(model: RunModel): string {
  const endMs = Date.parse(model.endedAt);
  const intervals: [number, number][] =
    model.sessions.length > 0
      ? model.sessions.map((s) => [Date.parse(s.startedAt), Date.parse(s.endedAt)])
      : [[Date.parse(model.startedAt), endMs]];
  const scale = createTimeScale(intervals, PLOT_W);
  const x = (iso: string) => LABEL_W + scale.x(Date.parse(iso));
  const top = AXIS_H + RUN_ROW_H;
  const height = top + model.nodes.length * ROW_H + 8;
  const width = LABEL_W + scale.width + 12;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Run timeline: ${model.nodes.length} nodes">`,
  );
  out.push(DEFS);
  out.push(renderAxis(scale, height));
  out.push(renderRunRow(model, x, scale.breaks, height));
  model.nodes.forEach((node, i) => {
    out.push(renderRow(node, i, top + i * ROW_H, x, model, endMs));
  });
  for (const m of model.markers.filter((mk) => mk.kind === 'resume')) {
    out.push(
      `<line class="resume-marker" x1="${n(x(m.at))}" y1="${AXIS_H}" x2="${n(x(m.at))}" y2="${height - 4}"><title>${esc(`${m.label} at ${m.at}`)}</title></line>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

function renderAxis(scale: ReturnType<typeof createTimeScale>, height: number): string {
  const parts = scale.ticks.map((t) => {
    const tx = n(LABEL_W + t.x);
    const label = new Date(t.atMs).toISOString().slice(11, 19);
    return `<line class="grid" x1="${tx}" y1="${AXIS_H - 4}" x2="${tx}" y2="${height - 4}"/><text class="tick" x="${tx}" y="${AXIS_H - 8}" text-anchor="middle">${label}</text>`;
  });
  return `<g class="axis">${parts.join('')}</g>`;
}

function renderRunRow(
  model: RunModel,
  x: (iso: string) => number,
  breaks: ReturnType<typeof createTimeScale>['breaks'],
  height: number,
): string {
  const y = AXIS_H;
  const parts = [`<text class="row-label" x="6" y="${y + 15}">run (UTC)</text>`];
  for (const s of model.sessions) {
    const x1 = x(s.startedAt);
    const w = Math.max(x(s.endedAt) - x1, 2);
    const title = `${s.resumed ? 'resumed session' : 'session'} ${s.index + 1}: ${s.mode}, ${s.outcome}, ${formatDuration(Date.parse(s.endedAt) - Date.parse(s.startedAt))}`;
    parts.push(
      `<rect class="session" x="${n(x1)}" y="${y + 8}" width="${n(w)}" height="6"><title>${esc(title)}</title></rect>`,
    );
  }
  for (const m of model.markers.filter((mk) => mk.kind === 'soak' && mk.until)) {
    const x1 = x(m.at);
    const w = Math.max(x(m.until as string) - x1, 1);
    parts.push(
      `<rect class="soak" x="${n(x1)}" y="${y + 3}" width="${n(w)}" height="16"><title>${esc(`soak ${formatDuration(Date.parse(m.until as string) - Date.parse(m.at))}`)}</title></rect>`,
    );
  }
  for (const b of breaks) {
    const bx = LABEL_W + b.x;
    parts.push(
      `<g class="break"><rect x="${n(bx + 4)}" y="${AXIS_H}" width="${b.width - 8}" height="${height - AXIS_H - 4}"/><text x="${n(bx + b.width / 2)}" y="${y + 15}" text-anchor="middle">⋯<title>${esc(`${formatDuration(b.gapMs)} without activity (collapsed)`)}</title></text></g>`,
    );
  }
  return `<g class="run-row">${parts.join('')}</g>`;
}

function renderRow(
  node: NodeModel,
  index: number,
  y: number,
  x: (iso: string) => number,
  model: RunModel,
  endMs: number,
): string {
  const parts: string[] = [];
  parts.push(
    `<rect class="stripe${index % 2 ? ' odd' : ''}" x="0" y="0" width="${LABEL_W + PLOT_W + 12}" height="${ROW_H}"/>`,
  );
  const label = node.name.length > 24 ? `${node.name.slice(0, 23)}…` : node.name;
  const role = node.leader ? ' ★' : node.role === 'manager' ? ' ◆' : '';
  parts.push(
    `<text class="row-label" x="6" y="15">${esc(label + role)}<title>${esc(`${node.name} (${node.role}${node.leader ? ', leader' : ''}): ${node.state}`)}</title></text>`,
  );
  for (const stage of node.stages) parts.push(renderSegment(node, stage, x, endMs));
  for (const m of model.markers.filter((mk) => mk.node === node.name)) parts.push(renderMarker(m, x));
  return `<g class="row" data-node="${esc(node.name)}" transform="translate(0,${y})">${parts.join('')}</g>`;
}

function renderSegment(node: NodeModel, stage: StageRun, x: (iso: string) => number, endMs: number): string {
  const x1 = x(stage.startedAt);
  const end = stage.endedAt ?? new Date(endMs).toISOString();
  const w = Math.max(x(end) - x1, 2);
  const duration = stage.durationMs ?? Date.parse(end) - Date.parse(stage.startedAt);
  const title = `${node.name} › ${stage.name} (${stage.kind}): ${stage.outcome === 'open' ? 'no end recorded' : stage.outcome} in ${formatDuration(duration)}${stage.message ? ` — ${stage.message}` : ''}`;
  const text =
    w > stage.name.length * CHAR_W + 6
      ? `<text class="seg-label" x="${n(x1 + 3)}" y="15">${esc(stage.name)}</text>`
      : '';
  return `<g class="seg seg-${stage.outcome}"><rect x="${n(x1)}" y="3" width="${n(w)}" height="${ROW_H - 6}" rx="2"/>${text}<title>${esc(title)}</title></g>`;
}

const MARKER_SHAPES: Record<MarkerKind, (cx: number) => string> = {
  reboot: (cx) => `<circle cx="${n(cx)}" cy="11" r="5"/><path d="M${n(cx - 2)} 9 l2 2 l2 -2"/>`,
  checks: (cx) => `<rect x="${n(cx - 1)}" y="15" width="2" height="6"/>`,
  halt: (cx) => `<circle cx="${n(cx)}" cy="11" r="8"/><path d="M${n(cx - 4)} 7 l8 8 M${n(cx + 4)} 7 l-8 8"/>`,
  interrupted: (cx) =>
    `<rect x="${n(cx - 5)}" y="6" width="4" height="10"/><rect x="${n(cx + 1)}" y="6" width="4" height="10"/>`,
  resume: () => '',
  skip: (cx) => `<path d="M${n(cx - 5)} 6 l5 5 l-5 5 M${n(cx)} 6 l5 5 l-5 5"/>`,
  retry: (cx) => `<path d="M${n(cx)} 2 l4 5 h-8 z"/>`,
  soak: () => '',
  end: () => '',
};

function renderMarker(m: TimelineMarker, x: (iso: string) => number): string {
  const shape = MARKER_SHAPES[m.kind](x(m.at));
  if (!shape) return '';
  return `<g class="marker ${m.kind}-marker${m.status ? ` check-${m.status}` : ''}">${shape}<title>${esc(`${m.label} (${m.at})`)}</title></g>`;
}

function n(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

const DEFS = `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#c9b458"/></pattern></defs>`;

/** Styles for the timeline, inlined in the page's <style>. */
export const TIMELINE_CSS = `
.timeline { overflow: auto; max-height: 75vh; border: 1px solid #ccd; background: #fff; }
.timeline-svg { font: 11px system-ui, sans-serif; display: block; }
.timeline-svg .tick { fill: #556; }
.timeline-svg .grid { stroke: #e3e3ea; }
.timeline-svg .stripe { fill: #fff; } .timeline-svg .stripe.odd { fill: #f5f6fa; }
.timeline-svg .row-label { fill: #223; }
.timeline-svg .session { fill: #8896b3; }
.timeline-svg .soak { fill: url(#hatch); opacity: .8; }
.timeline-svg .break rect { fill: #eee; stroke: #bbb; stroke-dasharray: 3 3; }
.timeline-svg .seg rect { stroke: #fff; stroke-width: .5; }
.timeline-svg .seg-succeeded rect { fill: #3a9d5d; }
.timeline-svg .seg-failed rect { fill: #d0342c; }
.timeline-svg .seg-skipped rect { fill: #b8b8c0; }
.timeline-svg .seg-open rect { fill: #e8a33d; }
.timeline-svg .seg-label { fill: #fff; pointer-events: none; }
.timeline-svg .marker { stroke-width: 1.5; }
.timeline-svg .reboot-marker circle { fill: #fff; stroke: #5b3fb0; } .timeline-svg .reboot-marker path { fill: none; stroke: #5b3fb0; }
.timeline-svg .checks-marker rect { fill: #1d6b39; } .timeline-svg .check-warn rect { fill: #c98a00; } .timeline-svg .check-fail rect { fill: #a00; }
.timeline-svg .halt-marker circle { fill: #a00; stroke: #fff; } .timeline-svg .halt-marker path { stroke: #fff; stroke-width: 2.5; }
.timeline-svg .interrupted-marker rect { fill: #c98a00; }
.timeline-svg .skip-marker path { fill: none; stroke: #333; }
.timeline-svg .retry-marker path { fill: #c98a00; }
.timeline-svg .resume-marker { stroke: #2f5fb3; stroke-width: 2; stroke-dasharray: 5 3; }
`;
