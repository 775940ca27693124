import type { JournalLine } from '../../executor/journal.js';
import { type BuildOptions, buildRunModel, type RunModel } from './model.js';
import { renderRunHtml } from './render-html.js';
import { renderRunMarkdown } from './render-markdown.js';

export type { RunModel } from './model.js';
export { buildRunModel } from './model.js';
export { reportPaths } from './outcome-text.js';
export { renderRunHtml } from './render-html.js';
export { renderRunMarkdown } from './render-markdown.js';

export type RunReportFormat = 'html' | 'md' | 'json';

const RENDERERS: Record<RunReportFormat, (model: RunModel, htmlLink?: string) => string> = {
  html: (model) => renderRunHtml(model),
  md: (model, htmlLink) => renderRunMarkdown(model, htmlLink ? { htmlLink } : {}),
  json: (model) => `${JSON.stringify(model, null, 2)}\n`,
};

/** A journal → one report in the given format. */
export function renderRunReport(
  lines: readonly JournalLine[],
  format: RunReportFormat,
  options: BuildOptions & { htmlLink?: string } = {},
): string {
  return RENDERERS[format](buildRunModel(lines, options), options.htmlLink);
}
