import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { defaultJournalDir, journalPath, readJournal } from '../../executor/journal.js';
import type { RunReportFormat } from '../../report/run-report/index.js';
import type { CliIo } from '../io.js';

export interface ReportOptions {
  journalDir?: string;
  format?: RunReportFormat;
  out?: string;
}

/** `drydock report RUN_ID`: rebuild a run's report from its journal alone (killed runs too). */
export async function reportCommand(runId: string, options: ReportOptions, io: CliIo): Promise<number> {
  const dir = options.journalDir ?? defaultJournalDir(io.env);
  const lines = await readJournal(dir, runId);
  const { renderRunReport, reportPaths } = await import('../../report/run-report/index.js');
  const text = renderRunReport(lines, options.format ?? 'html', {
    ...(options.journalDir ? { journalDir: options.journalDir } : {}),
    htmlLink: basename(reportPaths(journalPath(dir, runId)).html),
  });
  if (options.out) {
    writeFileSync(options.out, text);
    io.stderr(`drydock: wrote ${options.out}\n`);
  } else {
    io.stdout(text);
  }
  return 0;
}

/**
 * Write the HTML and Markdown reports next to the journal. Called at the end of every run; a
 * failure to write is a warning, never a change of the run's outcome.
 */
export async function writeRunReports(
  journalFile: string,
  runId: string,
  dir: string,
  journalDirFlag: string | undefined,
  io: CliIo,
): Promise<string | undefined> {
  try {
    const { renderRunReport, reportPaths } = await import('../../report/run-report/index.js');
    const lines = await readJournal(dir, runId);
    const paths = reportPaths(journalFile);
    const options = journalDirFlag ? { journalDir: journalDirFlag } : {};
    writeFileSync(paths.html, renderRunReport(lines, 'html', options), { mode: 0o600 });
    writeFileSync(
      paths.markdown,
      renderRunReport(lines, 'md', { ...options, htmlLink: basename(paths.html) }),
      { mode: 0o600 },
    );
    io.stderr(`drydock: report ${paths.html} (summary ${paths.markdown})\n`);
    return paths.html;
  } catch (error) {
    io.stderr(`drydock: warning: could not write the run report: ${(error as Error).message}\n`);
    return undefined;
  }
}
