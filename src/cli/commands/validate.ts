import { access } from 'node:fs/promises';
import { ExitCode, type Problem, UsageError } from '../../errors.js';
import { checkRunbookFile, type RunbookResult } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import { countOf } from '../../shared/plural.js';
import { formatProblems, summarizeProblemCounts } from '../../shared/problems.js';
import { assertTlsFilesReadable, describeDockerEndpoint } from '../connection-options.js';

/**
 * `drydock validate FILE...`: checks every runbook and reports every problem. Exit code 0 when
 * all are valid (warnings allowed), 1 when any is invalid; a missing file is a usage error.
 */

export interface ValidateOptions {
  format?: 'text' | 'json';
}

export interface ValidateIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** One file's outcome in `--format json`. */
export interface ValidateFileReport {
  file: string;
  ok: boolean;
  name?: string;
  stages?: string[];
  problems: Problem[];
}

/** `rolling-patch, 5 stages (drain → patch → reboot → rejoin → verify), checks: 2 between, 6 after each node`. */
export function summarizeRunbook(runbook: Runbook): string {
  const stages = runbook.stages.map((stage) => stage.name);
  const parts = [
    runbook.name,
    `${countOf(stages.length, 'stage')} (${stages.join(' → ')})`,
    `checks: ${runbook.checks.between.length} between stages, ${runbook.checks.afterNode.length} after each node`,
  ];
  if (runbook.variables.length > 0) parts.push(countOf(runbook.variables.length, 'variable'));
  return parts.join(', ');
}

async function assertFilesExist(files: string[]): Promise<void> {
  const missing: string[] = [];
  for (const file of files) {
    try {
      await access(file);
    } catch {
      missing.push(file);
    }
  }
  if (missing.length > 0) {
    throw new UsageError(`no such file${missing.length === 1 ? '' : 's'}: ${missing.join(', ')}`, {
      hint: 'give the path of a runbook YAML file, e.g. drydock validate runbooks/*.yaml',
    });
  }
}

function toReport(file: string, result: RunbookResult): ValidateFileReport {
  if (!result.ok) return { file, ok: false, problems: result.problems };
  return {
    file,
    ok: true,
    name: result.runbook.name,
    stages: result.runbook.stages.map((stage) => stage.name),
    problems: result.warnings,
  };
}

/** For `via: tcp`, which endpoint plan and run will use, and any TLS file they would refuse. */
function describeTcpEndpoint(runbook: Runbook): string[] {
  if (runbook.connection.docker.via !== 'tcp') return [];
  const lines = [`  Docker API: ${describeDockerEndpoint(runbook.connection)}\n`];
  try {
    assertTlsFilesReadable(runbook.connection.docker, {}, runbook.file);
  } catch (error) {
    lines.push(`  warning: ${(error as Error).message}; plan, check and run will refuse it\n`);
  }
  return lines;
}

export async function validateCommand(
  files: string[],
  opts: ValidateOptions,
  io: ValidateIo,
): Promise<number> {
  if (files.length === 0) throw new UsageError('validate needs at least one runbook file');
  await assertFilesExist(files);

  const reports: ValidateFileReport[] = [];
  const lines: string[] = [];
  for (const file of files) {
    // Why: validation only reads the file; don't resolve env variables from this shell.
    const result = await checkRunbookFile(file, { env: {} });
    reports.push(toReport(file, result));
    if (result.ok) {
      const warnings = result.warnings.length > 0 ? ` (${summarizeProblemCounts(result.warnings)})` : '';
      lines.push(`${file}: ok — ${summarizeRunbook(result.runbook)}${warnings}\n`);
      lines.push(...describeTcpEndpoint(result.runbook));
      lines.push(formatProblems(result.warnings));
    } else {
      lines.push(formatProblems(result.problems));
    }
  }

  const invalid = reports.filter((report) => !report.ok);
  if (opts.format === 'json') {
    io.stdout(`${JSON.stringify({ ok: invalid.length === 0, files: reports }, null, 2)}\n`);
  } else {
    io.stdout(lines.join(''));
    if (invalid.length > 0) {
      const problems = invalid.flatMap((report) => report.problems);
      io.stderr(
        `${invalid.length} of ${files.length} file${files.length === 1 ? '' : 's'} invalid: ${summarizeProblemCounts(problems)}\n`,
      );
    }
  }
  return invalid.length === 0 ? ExitCode.ok : ExitCode.failed;
}
