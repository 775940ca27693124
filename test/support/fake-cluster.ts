import type { CheckResult } from '../../src/checks/types.js';
import type { RunEvent, RunReporter } from '../../src/executor/events.js';
import type { ExecutorOptions } from '../../src/executor/execute-plan.js';
import type { JournalHeader } from '../../src/executor/journal.js';
import type { CheckRunnerPort, ClusterPort } from '../../src/executor/ports.js';
import { emptyProgress } from '../../src/executor/run-progress.js';
import type { CheckName } from '../../src/runbook/types.js';
import type { Clock } from '../../src/shared/clock.js';
import type { CommandResult, ExecOptions, NodeShell } from '../../src/transport/types.js';
import type { FakeSwarm } from './fake-swarm.js';

type Responder = (command: string, node: string) => Partial<CommandResult> | undefined;

/** Shells that answer commands from a responder; `reboot` changes the boot id. */
export class FakeCluster implements ClusterPort {
  commands: { node: string; command: string; sudo: boolean }[] = [];
  bootIds: Record<string, string> = {};
  respond: Responder = () => undefined;
  /** Nodes that never come back after a reboot. */
  noReturn = new Set<string>();
  private down = new Set<string>();

  constructor(readonly swarmApi: FakeSwarm) {
    for (const n of swarmApi.nodes) this.bootIds[n.hostname] = `boot-${n.hostname}-1`;
  }

  async swarm() {
    return this.swarmApi;
  }
  async swarmAvoiding() {
    return this.swarmApi;
  }
  async engineOf() {
    return this.swarmApi;
  }
  async reconnect(node: string) {
    if (this.down.has(node)) {
      if (this.noReturn.has(node)) throw new Error(`connect ECONNREFUSED ${node}`);
      this.down.delete(node);
    }
    return this.shellOf(node);
  }
  async shellOf(node: string): Promise<NodeShell> {
    const exec = async (command: string, options: ExecOptions = {}): Promise<CommandResult> => {
      this.commands.push({ node, command, sudo: options.sudo ?? false });
      const base: CommandResult = {
        node,
        command: options.display ?? command,
        exitCode: 0,
        signal: null,
        stdout: '',
        stderr: '',
        durationMs: 1,
        timedOut: false,
        connectionLost: false,
      };
      const custom = this.respond(command, node);
      if (custom) return { ...base, ...custom };
      if (command.includes('boot_id')) return { ...base, stdout: `${this.bootIds[node]}\n` };
      if (command === 'reboot') {
        const n = Number(this.bootIds[node]!.split('-').at(-1)) + 1;
        this.bootIds[node] = `boot-${node}-${n}`;
        this.down.add(node);
        return { ...base, exitCode: null, connectionLost: true };
      }
      options.onStdout?.(`ran ${options.display ?? command}\n`);
      return base;
    };
    return { node, connected: true, exec, close: async () => {} };
  }
  async close() {}
}

/** Checks that pass unless told otherwise. */
export class FakeChecks implements CheckRunnerPort {
  rounds: { names: CheckName[]; scope: string[] }[] = [];
  failWhen: (names: CheckName[], scope: string[]) => CheckResult[] | undefined = () => undefined;

  async takeBaseline() {
    return { takenAt: new Date(0).toISOString(), nodes: {} };
  }
  async run(names: CheckName[], scope: string[]) {
    this.rounds.push({ names, scope });
    const failed = this.failWhen(names, scope);
    if (failed) return failed;
    return names.map((check) => ({ check, status: 'pass' as const, message: 'ok', durationMs: 0 }));
  }
}

/** A clock whose sleeps advance time instantly; `advance` moves it as time passing elsewhere. */
export function fakeClock(start = Date.parse('2026-11-28T22:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A single node's shell answering commands through a function. */
export class FakeShell implements NodeShell {
  connected = true;
  commands: string[] = [];
  constructor(
    readonly node: string,
    private answer: (command: string) => Partial<CommandResult>,
  ) {}
  async exec(command: string): Promise<CommandResult> {
    this.commands.push(command);
    return fakeCommandResult(this.node, command, this.answer(command));
  }
  async close() {}
}

/** A finished command as a fake transport reports it: exit 0 unless `over` says otherwise. */
export function fakeCommandResult(
  node: string,
  command: string,
  over: Partial<CommandResult> = {},
): CommandResult {
  return {
    node,
    command,
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    durationMs: 5,
    timedOut: false,
    connectionLost: false,
    ...over,
  };
}

export class EventLog implements RunReporter {
  events: RunEvent[] = [];
  onEvent(event: RunEvent) {
    this.events.push(event);
  }
  ofType<T extends RunEvent['type']>(type: T): Extract<RunEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
  }
}

/** The journal header of the executor unit tests' runs. */
export const TEST_JOURNAL_HEADER: JournalHeader = {
  type: 'journal-header',
  formatVersion: 1,
  runId: 'run-1',
  runbookFile: 'inline.yaml',
  runbookHash: 'x',
  startedAt: '',
  connection: {},
  user: 'test',
  host: 'test',
};

/** Executor options for a unit test: the parts under test, defaults for the rest. */
export function fakeExecutorOptions(
  parts: Pick<ExecutorOptions, 'plan' | 'runbook' | 'cluster' | 'checks' | 'reporter'> &
    Partial<ExecutorOptions>,
): ExecutorOptions {
  return {
    runId: 'run-1',
    clock: fakeClock(),
    stopSignal: new AbortController().signal,
    cancelSignal: new AbortController().signal,
    progress: emptyProgress(TEST_JOURNAL_HEADER),
    lock: { owner: 'tester@laptop', ttlMs: 3_600_000 },
    resumeCommand: 'drydock resume run-1',
    ...parts,
  };
}
