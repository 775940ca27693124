import { Command, CommanderError, Option } from 'commander';
import { describeExitCodes, ExitCode, InvalidInputError, isDrydockError, UsageError } from '../errors.js';
import { escapeControl } from '../shared/escape-control.js';
import { formatProblems } from '../shared/problems.js';
import type { CliIo } from './io.js';
import { processIo } from './io.js';

/**
 * The entry point: argument wiring only. Each command is a plain async function in
 * `commands/`, imported lazily so `drydock --help` stays fast. Only this module turns errors
 * into messages and exit codes.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

/** Connection flags shared by every command that talks to a live cluster. */
/** What `run` and `resume` share beyond the connection: the lock and how the run reports. */
function addSessionOptions(cmd: Command): Command {
  return cmd
    .option('--lock-ttl <duration>', 'cluster lock expiry (renewed while the run lives)', '2h')
    .option(
      '--stream-output',
      'plain mode: print every line of command output too (masked), by node and stage',
    )
    .option('--heartbeat <duration>', 'how often a wait says what it still waits for (default 15s)');
}

function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--docker-host <url>',
      'Docker API of a manager: unix://, tcp://, ssh://user@host (default: DOCKER_HOST or the runbook)',
    )
    .option(
      '--manager <host...>',
      'manager address(es) to reach the Docker API over SSH (overrides connection.docker.managers)',
    )
    .option('--identity <file>', 'SSH private key (overrides connection.ssh.identityFile)')
    .option('--known-hosts <file>', 'known_hosts file (overrides connection.ssh.knownHosts)')
    .option('--ssh-user <user>', 'SSH user (overrides connection.ssh.user)')
    .option(
      '--accept-new',
      'record host keys of unknown hosts in known_hosts (a changed key is still refused)',
    )
    .option('--insecure-ignore-host-keys', 'do not verify SSH host keys at all (unsafe; never the default)')
    .option('--tlscacert <file>', 'CA for a tcp Docker endpoint (overrides connection.docker.tls.ca)')
    .option('--tlscert <file>', 'client certificate for a tcp Docker endpoint (connection.docker.tls.cert)')
    .option('--tlskey <file>', 'client key for a tcp Docker endpoint (connection.docker.tls.key)');
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('drydock')
    .description('Take a Docker Swarm cluster through a maintenance window safely, node by node.')
    .version(DRYDOCK_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  program.addHelpText(
    'after',
    `
Exit codes: ${describeExitCodes()}
Examples:
  drydock validate runbooks/*.yaml
  drydock plan runbooks/rolling-patch.yaml --inventory fixtures/inventory/example.yaml
  drydock run runbooks/rolling-patch.yaml --manager 10.0.0.11 --yes
  drydock check --runbook runbooks/rolling-patch.yaml --manager 10.0.0.11
  drydock report RUN_ID --format md`,
  );

  program
    .command('validate')
    .description('check runbook files and report every problem as file:line:col  path  message')
    .argument('<files...>', 'runbook files')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (files: string[], opts: { format: 'text' | 'json' }) => {
      const { validateCommand } = await import('./commands/validate.js');
      setExit(await validateCommand(files, opts, io));
    });

  addConnectionOptions(
    program
      .command('plan')
      .description('preview the exact plan (order, commands, checks) without touching anything')
      .argument('<runbook>', 'runbook file')
      .option('--inventory <file>', 'plan offline against a YAML description of the cluster')
      .option(
        '--continue-from <run-id>',
        'show the nodes that run finished as skipped (as `run --continue-from`)',
      )
      .option(
        '--evaluate-skips',
        "ask each node now whether its stages' skipIf conditions hold (they are read-only), and show the answers",
      )
      .option(
        '--journal-dir <dir>',
        'where run journals are (to name the run that drained a node; for --continue-from)',
      )
      .addOption(
        new Option('--format <format>', 'output format')
          .choices(['text', 'json', 'markdown'])
          .default('text'),
      ),
  ).action(async (runbook: string, opts) => {
    const { planCommand } = await import('./commands/plan.js');
    setExit(await planCommand(runbook, opts, io));
  });

  addSessionOptions(
    addConnectionOptions(
      program
        .command('run')
        .description('execute a runbook node by node, halting on the first failure')
        .argument('<runbook>', 'runbook file')
        .option('-y, --yes', 'unattended: no prompts (also when stdin is not a TTY)')
        .option('--json', 'emit one JSON event per line (implies --yes)')
        .option(
          '--journal-dir <dir>',
          'where run journals go (default: ~/.drydock/runs or $DRYDOCK_HOME/runs)',
        )
        .option('--force-preflight <reason>', 'start even if pre-flight checks fail; the reason is journaled')
        .option('--force <reason>', 'older spelling of --force-preflight')
        .option(
          '--continue-from <run-id>',
          'skip the nodes that earlier run finished (refused if it is of another runbook or cluster)',
        ),
    ),
  ).action(async (runbook: string, opts) => {
    const { runCommand } = await import('./commands/run.js');
    setExit(await runCommand(runbook, opts, io));
  });

  addSessionOptions(
    addConnectionOptions(
      program
        .command('resume')
        .description('continue a halted or interrupted run from its journal')
        .argument('<run-id>', 'run id (printed by run; see `drydock runs`)')
        .option('-y, --yes', 'unattended: no prompts')
        .option('--json', 'emit one JSON event per line (implies --yes)')
        .option('--journal-dir <dir>', 'where run journals are')
        .option(
          '--force-preflight <reason>',
          'go on even if the pre-flight fails again (a run started with it needs it too); journaled',
        )
        .option(
          '--accept-runbook-change',
          'resume even if the runbook changed since the run started (a moved rollout.window needs no flag)',
        )
        .option('--force', 'older spelling of --accept-runbook-change (with a value: ambiguous, refused)')
        .option(
          '--window <start/end>',
          "resume in this window instead of the runbook's rollout.window (ISO 8601 with zone; a side may be empty)",
        )
        .option(
          '--redrain',
          'drain again a node this run drained that is no longer drained (set active by hand, or re-joined with a new ID)',
        ),
    ),
  )
    // `resume RUN --force "reason"` (the run flag's habit) must get a clear message, not "too many arguments".
    .allowExcessArguments(true)
    .action(async (runId: string, opts, cmd: Command) => {
      const extra = cmd.args.slice(1);
      if (extra.length > 0 && !opts.force) {
        throw new UsageError(`resume takes one run id; unexpected: ${extra.join(' ')}`);
      }
      const { resumeCommand } = await import('./commands/resume.js');
      setExit(
        await resumeCommand(runId, { ...opts, ...(extra.length ? { force: extra.join(' ') } : {}) }, io),
      );
    });

  program
    .command('runs')
    .description('list run journals and their state; with RUN_ID, that run in detail')
    .argument('[run-id]', 'one run: its nodes, where it stopped, the resume command, the report')
    .option('--journal-dir <dir>', 'where run journals are')
    .option('--json', 'JSON output')
    .action(async (runId: string | undefined, opts) => {
      const { runsCommand } = await import('./commands/runs.js');
      setExit(await runsCommand(opts, io, runId));
    });

  program
    .command('report')
    .description('rebuild the report of a run from its journal (HTML, Markdown or JSON)')
    .argument('<run-id>', 'run id (see `drydock runs`)')
    .option('--journal-dir <dir>', 'where run journals are')
    .addOption(
      new Option('--format <format>', 'report format').choices(['html', 'md', 'json']).default('html'),
    )
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (runId: string, opts) => {
      const { reportCommand } = await import('./commands/report.js');
      setExit(await reportCommand(runId, opts, io));
    });

  addConnectionOptions(
    program
      .command('check')
      .description('run the health-check catalogue against a live cluster, changing nothing')
      .option('--runbook <file>', 'take connection settings and check options from a runbook')
      .option('--node <name>', 'only this node')
      .option('--json', 'JSON output'),
  ).action(async (opts) => {
    const { checkCommand } = await import('./commands/check.js');
    setExit(await checkCommand(opts, io));
  });

  addConnectionOptions(
    program
      .command('unlock')
      .description('release the cluster lock (asks for confirmation)')
      .option('--runbook <file>', 'take connection settings from a runbook')
      .option(
        '--run <run-id>',
        'reach the cluster as that run did (default without --runbook/--manager: the latest run that kept the lock)',
      )
      .option('--journal-dir <dir>', 'where run journals are')
      .option('-y, --yes', 'do not ask'),
  ).action(async (opts) => {
    const { unlockCommand } = await import('./commands/unlock.js');
    setExit(await unlockCommand(opts, io));
  });

  return program;
}

/** Map any error to a message and an exit code. Never a stack trace unless it is a bug. */
export function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version exit through here too, with code 0.
    if (
      error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
    ) {
      return ExitCode.ok;
    }
    return ExitCode.usage;
  }
  if (error instanceof InvalidInputError) {
    io.stderr(formatProblems(error.problems));
    return error.exitCode;
  }
  if (isDrydockError(error)) {
    // Messages quote names from the cluster (hostnames, lock owners): never raw control characters.
    io.stderr(`drydock: ${escapeControl(error.message)}\n`);
    if (error.hint) io.stderr(`  hint: ${escapeControl(error.hint)}\n`);
    if (error.code === 'DRYDOCK_INTERNAL') io.stderr(`${error.stack ?? ''}\n`);
    return error.exitCode;
  }
  const err = error as NodeJS.ErrnoException;
  io.stderr(`drydock: internal error: ${err?.message ?? String(error)}\n`);
  io.stderr(`${err?.stack ?? ''}\n  This is a bug in drydock; please report it with the output above.\n`);
  return ExitCode.internal;
}

const DRYDOCK_VERSION = '0.1.0';
