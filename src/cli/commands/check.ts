import { defaultCheckOptions, STANDALONE_CHECKS } from '../../checks/catalogue.js';
import { diagnoseNodes, runChecks, summarizeChecks } from '../../checks/run-checks.js';
import type { CheckName, CheckResult, NodeCause } from '../../checks/types.js';
import { UsageError } from '../../errors.js';
import { type CheckSelection, renderCheckJson, renderCheckTable } from '../../report/check-table.js';
import type { Runbook } from '../../runbook/types.js';
import { systemClock } from '../../shared/clock.js';
import { quoteShellArg } from '../../shared/shell-quote.js';
import type { NodeShell, SwarmApi, SwarmNode } from '../../transport/types.js';
import { type ConnectionFlags, defaultConnection } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';

export interface CheckCommandOptions extends ConnectionFlags {
  runbook?: string;
  node?: string;
  json?: boolean;
  /** How often a progress line goes to stderr while checks wait (default 10 s). */
  heartbeatMs?: number;
  /** Whether stderr is a terminal (progress lines in --json mode only then). */
  stderrIsTTY?: boolean;
}

/** The checks the run's pre-flight always adds to the runbook's own list (see execute-plan). */
const PREFLIGHT_ALWAYS: CheckName[] = ['node-ready', 'manager-quorum', 'services-converged'];

/** Which checks `check` runs and where that set comes from. */
function selectChecks(runbook: Runbook | undefined, file: string | undefined): CheckSelection {
  if (!runbook) {
    return {
      names: STANDALONE_CHECKS,
      source: 'no runbook: the whole catalogue except reboot-observed',
    };
  }
  return {
    names: [...new Set([...runbook.checks.afterNode, ...runbook.checks.between])].filter(
      (n) => n !== 'reboot-observed',
    ),
    source: `runbook ${file}: checks.afterNode + checks.between`,
    preflight: [...new Set([...PREFLIGHT_ALWAYS, ...runbook.checks.preflight])],
  };
}

/**
 * `drydock check`: runs the catalogue against a live cluster, changing nothing. With a runbook,
 * its afterNode and between checks with its options; without, every check that makes sense
 * outside a run. Baseline-dependent checks compare with absolute expectations (no run began).
 * A node whose SSH or engine does not answer is reported once as the cause, and its checks that
 * need it are skipped. Progress lines go to stderr while checks wait. Exit 0 healthy, 1 unhealthy.
 */
export async function checkCommand(options: CheckCommandOptions, io: CliIo): Promise<number> {
  let runbook: Runbook | undefined;
  if (options.runbook) {
    const { parseRunbookFile } = await import('../../runbook/parse.js');
    runbook = await parseRunbookFile(options.runbook);
  }
  const selection = selectChecks(runbook, options.runbook);
  const checkOptions = runbook?.checks.options ?? defaultCheckOptions(15_000);

  const base = runbook?.connection ?? defaultConnection();
  const cluster = await connectWith(
    base,
    options,
    io,
    {
      command: 'check',
      hint: 'or give --runbook FILE with connection.docker.managers set',
    },
    runbook?.file,
  );
  const startedAt = systemClock.now();
  try {
    const swarm: SwarmApi = await cluster.swarm();
    const nodes = await swarm.listNodes();
    if (options.node && !nodes.some((n) => n.hostname === options.node)) {
      throw new UsageError(`no node named ${options.node} in the swarm`, {
        hint: `nodes: ${nodes.map((n) => n.hostname).join(', ')}`,
      });
    }
    const scope = options.node ? [options.node] : nodes.map((n) => n.hostname);
    const ports = {
      engineOf: (node: string): Promise<SwarmApi> => cluster.engineOf(node),
      shellOf: (node: string): Promise<NodeShell> => cluster.shellOf(node),
      now: systemClock.now,
      sleep: systemClock.sleep,
    };
    const causes = await diagnoseNodes(ports, scope, selection.names);
    const progress = !options.json || (options.stderrIsTTY ?? Boolean(process.stderr.isTTY));
    const all = await runChecks(selection.names, {
      ...ports,
      scope,
      nodes,
      swarm,
      // Outside a run every node should be active: a node left drained is a finding.
      expectedAvailability: Object.fromEntries(nodes.map((n) => [n.hostname, 'active' as const])),
      rebootedFrom: {},
      stageStartedAt: new Date(startedAt),
      options: checkOptions,
      sudo: base.ssh.sudo,
      causes,
      ...(progress
        ? { heartbeat: { everyMs: options.heartbeatMs ?? 10_000, write: (line) => io.stderr(`${line}\n`) } }
        : {}),
    });
    // --node: that node's rows and the cluster-wide ones, never rows about other nodes.
    const results = options.node ? all.filter((r) => r.node === undefined || r.node === options.node) : all;
    const report = {
      durationMs: systemClock.now() - startedAt,
      selection,
      causes,
      hints: suggestNext(results, causes, nodes, base, options),
    };
    io.stdout(options.json ? renderCheckJson(results, report) : renderCheckTable(results, report));
    return summarizeChecks(results).healthy ? 0 : 1;
  } finally {
    await cluster.close();
  }
}

/**
 * What to run next: for a node that does not answer, the command that shows why; for every
 * failing node, the check to run again on it alone after fixing.
 */
function suggestNext(
  results: CheckResult[],
  causes: NodeCause[],
  nodes: SwarmNode[],
  base: Runbook['connection'],
  flags: CheckCommandOptions,
): string[] {
  const user = flags.sshUser ?? base.ssh.user;
  const target = (node: string) =>
    `${user}@${base.ssh.hosts[node] ?? nodes.find((n) => n.hostname === node)?.address ?? node}`;
  const diagnose = causes.map((c) =>
    c.part === 'engine'
      ? `ssh ${target(c.node)} systemctl status docker   # why the engine on ${c.node} is not answering`
      : `ssh -v ${target(c.node)} true   # why SSH to ${c.node} fails`,
  );
  // A failure another node's cause explains is not this node's to fix.
  const own = (r: CheckResult) => r.status === 'fail' && r.node && (!r.cause || r.cause.node === r.node);
  const failing = [...new Set(results.filter(own).map((r) => r.node!))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
  const again = (node: string) =>
    ['drydock', 'check', ...connectionArgs(flags), '--node', node].map(quoteShellArg).join(' ');
  return [...diagnose, ...failing.map((node) => `${again(node)}   # after fixing ${node}`)];
}

/** The connection flags this invocation was given, to repeat them in a suggested command. */
function connectionArgs(flags: CheckCommandOptions): string[] {
  return [
    ...(flags.runbook ? ['--runbook', flags.runbook] : []),
    ...(flags.dockerHost ? ['--docker-host', flags.dockerHost] : []),
    ...(flags.manager ?? []).flatMap((m) => ['--manager', m]),
    ...(flags.identity ? ['--identity', flags.identity] : []),
    ...(flags.knownHosts ? ['--known-hosts', flags.knownHosts] : []),
    ...(flags.sshUser ? ['--ssh-user', flags.sshUser] : []),
    ...(flags.tlscacert ? ['--tlscacert', flags.tlscacert] : []),
    ...(flags.tlscert ? ['--tlscert', flags.tlscert] : []),
    ...(flags.tlskey ? ['--tlskey', flags.tlskey] : []),
  ];
}
