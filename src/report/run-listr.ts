// Over ~400 lines on purpose: everything that touches listr2 lives in this one file (a layering
// rule keeps listr2 here), so the task tree, its renderer and the event wiring stay together.
import {
  DefaultRenderer,
  figures,
  Listr,
  ListrLogger,
  type ListrTask,
  type ListrTaskWrapper,
  PRESET_TIMER,
  ProcessOutput,
} from 'listr2';
import type { CheckResult } from '../checks/types.js';
import { assertNever } from '../errors.js';
import type { HaltReport, RunEvent, RunReporter } from '../executor/events.js';
import type { Plan, PlannedNode } from '../plan/types.js';
import { formatDuration } from '../shared/format-duration.js';
import {
  describeExit,
  describeMoveEvent,
  describeWaiting,
  formatHaltReport,
  formatNodeSummary,
} from './run-format.js';

/**
 * The interactive reporter: a listr2 task tree (node → stage) driven by run events.
 *
 * The executor runs on its own and only emits events, so no listr2 task does any work: each
 * task awaits a promise that the reporter settles when the matching event arrives
 * (`node-start`, `stage-end`, `halt`). Live command output goes to `task.output`, check results
 * become output lines under their stage.
 *
 * Prompts and the live display: while an inquirer prompt is on screen the tree must not repaint
 * over it. `pause()` leaves the live region on screen (frozen), stops the spinner and releases
 * listr2's hold on stdout (so the prompt's writes reach the terminal); events arriving meanwhile are queued.
 * `resume()` replays them and redraws the tree below the answered prompt. Wire them to the gate:
 * `createInquirerGate({ onBeforePrompt: reporter.pause, onAfterPrompt: reporter.resume })`.
 * We do not use listr2's prompt adapter because the executor, not a task, asks the questions.
 */
export interface ListrReporter extends RunReporter {
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export interface ListrReporterOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** `default` draws the live tree; the others exist for tests (`test`, `silent`) and debugging. */
  renderer?: 'default' | 'simple' | 'verbose' | 'silent' | 'test';
  /** Lines of live command output shown under a running stage. */
  outputLines?: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
  settled: boolean;
}

function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Settled promises nobody awaits (nodes never reached) must not become unhandled rejections.
  promise.catch(() => {});
  const deferred: Deferred<T> = {
    promise,
    settled: false,
    resolve(value) {
      if (deferred.settled) return;
      deferred.settled = true;
      resolve(value);
    },
    reject(error) {
      if (deferred.settled) return;
      deferred.settled = true;
      reject(error);
    },
  };
  return deferred;
}

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof DefaultRenderer>;
type SlotEnd = { skipped?: string };

/**
 * What one task shows, kept outside listr2 because events may arrive before listr2 has started
 * the task; the task adopts it when it starts.
 */
class TaskSlot {
  readonly done = createDeferred<SlotEnd>();
  started = false;
  /** The stage ended `failed` and the executor is asking the operator what to do. */
  failedWaiting = false;
  attempt = 1;
  private wrapper: Wrapper | undefined;
  private summary: string[] = [];
  private live: string[] = [];

  constructor(
    public title: string,
    private readonly liveLines: number,
  ) {}

  attach(wrapper: Wrapper): void {
    this.wrapper = wrapper;
    wrapper.title = this.title;
    this.render();
  }

  setTitle(title: string): void {
    this.title = title;
    if (this.wrapper) this.wrapper.title = title;
  }

  /** A lasting line: command results, checks, drain results. */
  note(line: string): void {
    this.summary.push(line);
    this.render();
  }

  /** A line of command output: only the last few stay on screen. */
  stream(line: string): void {
    this.live = [...this.live, line].slice(-this.liveLines);
    this.render();
  }

  clearLive(): void {
    this.live = [];
    this.render();
  }

  private render(): void {
    const lines = [...this.summary, ...this.live];
    if (this.wrapper && lines.length > 0) this.wrapper.output = lines.join('\n');
  }
}

interface NodeView {
  planned: PlannedNode;
  slot: TaskSlot;
  stages: Map<string, TaskSlot>;
}

interface PausableRendererHooks {
  processOutput: ProcessOutput;
  onRenderer(renderer: PausableRenderer): void;
}

/**
 * A DefaultRenderer that can stop drawing while a prompt owns the terminal. listr2 exposes no
 * pause, so this reaches its log-update instance (`updater`) to freeze the live region, and
 * releases the ProcessOutput it draws through so the prompt's writes are not buffered.
 */
class PausableRenderer extends DefaultRenderer {
  private paused = false;
  private released = false;
  private readonly hooks: PausableRendererHooks | undefined;

  constructor(...args: ConstructorParameters<typeof DefaultRenderer>) {
    super(...args);
    this.hooks = (args[1] as { pausable?: PausableRendererHooks }).pausable;
    this.hooks?.onRenderer(this);
  }

  // render() starts asynchronously; a prompt may already be up by the time it hijacks stdout.
  override async render(): Promise<void> {
    await super.render();
    if (this.paused) this.stepAside();
  }

  override update(): void {
    if (!this.paused) super.update();
  }

  pause(): void {
    // Draw the tree once more and leave it on screen: the operator answers with it in view.
    // (render() sets the updater up asynchronously: before that there is nothing drawn to keep.)
    if (!this.paused && (this as unknown as { updater?: unknown }).updater) super.update();
    this.paused = true;
    this.stepAside();
  }

  resume(): void {
    this.paused = false;
    if (this.released) {
      this.hooks?.processOutput.hijack();
      this.released = false;
    }
    this.update();
  }

  private stepAside(): void {
    // done() forgets the drawn lines without erasing them, so the prompt is written below the tree.
    (this as unknown as { updater?: { done(): void } }).updater?.done();
    const output = this.hooks?.processOutput as unknown as { active?: boolean; release(): void } | undefined;
    if (output?.active) {
      output.release();
      this.released = true;
    }
  }
}

export function createListrReporter(opts: ListrReporterOptions): ListrReporter {
  const liveLines = opts.outputLines ?? 5;
  const processOutput = new ProcessOutput(opts.stdout, opts.stderr);
  const logger = new ListrLogger({ useIcons: true, toStderr: [], processOutput });
  const nodes = new Map<string, NodeView>();
  const queued: RunEvent[] = [];
  let preflight: TaskSlot | undefined;
  let renderer: PausableRenderer | undefined;
  let running: Promise<unknown> | undefined;
  let paused = false;
  let closed = false;
  let halt: HaltReport | undefined;
  let interrupted: Extract<RunEvent, { type: 'interrupted' }> | undefined;
  let end: Extract<RunEvent, { type: 'run-end' }> | undefined;
  const warnings: string[] = [];

  function startTree(plan: Plan, resumed: boolean, doneBefore: string[]): void {
    const total = plan.nodes.length;
    preflight = new TaskSlot(resumed ? 'Resume: pre-flight checks' : 'Pre-flight checks', liveLines);
    const preflightSlot = preflight;
    const tasks: ListrTask<unknown, typeof DefaultRenderer, typeof DefaultRenderer>[] = [
      {
        title: preflightSlot.title,
        task: (_ctx, task) => adopt(preflightSlot, task),
        rendererOptions: { persistentOutput: true, outputBar: true },
      },
    ];
    for (const planned of plan.nodes) {
      const role = planned.leader ? 'leader' : planned.role;
      const slot = new TaskSlot(`${planned.name} [${planned.position}/${total}] ${role}`, liveLines);
      const stages = new Map(planned.stages.map((s) => [s.name, new TaskSlot(`${s.name}`, liveLines)]));
      const view: NodeView = { planned, slot, stages };
      nodes.set(planned.name, view);
      tasks.push({
        title: slot.title,
        task: async (_ctx, task) => {
          slot.attach(task);
          const ended = await slot.done.promise;
          if (ended.skipped !== undefined) return task.skip(ended.skipped);
          return task.newListr(
            [...stages.entries()].map(([, stageSlot]) => ({
              title: stageSlot.title,
              task: (_c: unknown, stageTask: Wrapper) => adopt(stageSlot, stageTask),
              rendererOptions: { persistentOutput: true, outputBar: true },
            })),
            { concurrent: false, exitOnError: true },
          );
        },
      });
    }
    const concurrency = plan.rollout.concurrency > 1 ? plan.rollout.concurrency : false;
    const rendererName = opts.renderer ?? 'default';
    // Cast: listr2's option types follow the renderer type parameter, which a runtime choice cannot fix.
    const options = {
      concurrent: concurrency,
      exitOnError: true,
      // The executor owns SIGINT: it stops at a safe point and emits `interrupted`.
      registerSignalListeners: false,
      renderer: rendererName === 'default' ? PausableRenderer : rendererName,
      fallbackRendererCondition: false,
      rendererOptions: {
        logger,
        collapseErrors: true,
        collapseSubtasks: true,
        showErrorMessage: true,
        timer: PRESET_TIMER,
        pausable: {
          processOutput,
          onRenderer: (r: PausableRenderer) => {
            renderer = r;
          },
        } satisfies PausableRendererHooks,
      },
    };
    const list = new Listr(tasks, options as never);
    // Finished in an earlier session: shown done, not "not started".
    for (const name of doneBefore) {
      const view = nodes.get(name);
      view?.slot.done.resolve({ skipped: `${view.slot.title}: done before the resume` });
    }
    running = list.run().catch(() => {});
  }

  // The node slot's promise is "this node has started"; a stage slot's is "this stage ended".
  async function adopt(slot: TaskSlot, task: Wrapper): Promise<void> {
    slot.attach(task);
    const ended = await slot.done.promise;
    if (ended.skipped !== undefined) task.skip(ended.skipped);
  }

  function stageOf(node: string, stage: string | null): TaskSlot | undefined {
    return stage === null ? undefined : nodes.get(node)?.stages.get(stage);
  }

  /** The slot events about a node without a stage (drained, rebooted) belong to: its running stage. */
  function currentStage(node: string): TaskSlot | undefined {
    const view = nodes.get(node);
    if (!view) return undefined;
    return [...view.stages.values()].find((s) => s.started && !s.done.settled) ?? view.slot;
  }

  function startStage(node: string, stage: string): TaskSlot | undefined {
    const view = nodes.get(node);
    const slot = view?.stages.get(stage);
    if (!view || !slot) return undefined;
    // Earlier stages still open were skipped: by the operator after a failure, or never run.
    for (const [name, other] of view.stages) {
      if (name === stage) break;
      if (!other.done.settled) {
        other.done.resolve({
          skipped: `${name} (${other.failedWaiting ? 'failed, skipped by operator' : 'skipped'})`,
        });
      }
    }
    if (slot.failedWaiting || slot.started) {
      slot.attempt += 1;
      slot.failedWaiting = false;
      slot.clearLive();
      slot.note(`${figures.arrowRight} retry, attempt ${slot.attempt}`);
      slot.setTitle(`${stage} (attempt ${slot.attempt})`);
    }
    slot.started = true;
    return slot;
  }

  function noteChecks(slot: TaskSlot | undefined, results: CheckResult[]): void {
    for (const result of results) slot?.note(describeCheckLine(result));
  }

  /** At the end of a run: the first open stage of each unfinished node fails, later ones were not run. */
  function settleOpen(error: Error): void {
    if (preflight && !preflight.done.settled) preflight.done.resolve({});
    for (const view of nodes.values()) {
      if (!view.slot.done.settled) {
        view.slot.done.resolve({ skipped: `${view.slot.title}: not started` });
        continue;
      }
      const open = [...view.stages.entries()].filter(([, slot]) => !slot.done.settled);
      for (const [i, [name, slot]] of open.entries()) {
        if (i === 0) slot.done.reject(error);
        else slot.done.resolve({ skipped: `${name} (not run)` });
      }
    }
  }

  function apply(event: RunEvent): void {
    switch (event.type) {
      case 'run-start':
        if (!running) startTree(event.plan, event.resumed, event.doneBefore ?? []);
        return;
      case 'lock':
        preflight?.note(`lock ${event.action} (${event.owner})`);
        return;
      case 'preflight': {
        noteChecks(preflight, event.results);
        if (event.forced) preflight?.note(`forced: ${event.forced}`);
        return;
      }
      case 'baseline':
        preflight?.note(`baseline taken on ${event.nodes.length} nodes`);
        preflight?.done.resolve({});
        return;
      case 'node-start': {
        preflight?.done.resolve({});
        nodes.get(event.node)?.slot.done.resolve({});
        return;
      }
      case 'stage-start':
        startStage(event.node, event.stage);
        return;
      case 'output': {
        const slot = stageOf(event.node, event.stage);
        if (slot?.failedWaiting) startStage(event.node, event.stage);
        slot?.stream(event.stream === 'stderr' ? `${figures.warning} ${event.line}` : event.line);
        return;
      }
      case 'command': {
        const { result } = event;
        const mark = result.exitCode === 0 ? figures.tick : figures.cross;
        stageOf(event.node, event.stage)?.note(
          `${mark} $ ${result.command} → ${describeExit(result)} in ${formatDuration(result.durationMs)}`,
        );
        return;
      }
      case 'progress':
        // A note for no stage (e.g. a signal during pre-flight) goes under the pre-flight task.
        (stageOf(event.node, event.stage) ?? (event.node === '' ? preflight : undefined))?.stream(
          `… ${event.message}`,
        );
        return;
      case 'waiting':
        // After-node checks have no stage slot of their own: the node's current one shows them.
        (stageOf(event.node, event.stage) ?? currentStage(event.node))?.stream(`… ${describeWaiting(event)}`);
        return;
      case 'drained':
        currentStage(event.node)?.note(
          `drained: ${event.tasksMoved} tasks moved in ${formatDuration(event.waitedMs)}` +
            (event.standalone.length > 0
              ? `; standalone containers left: ${event.standalone.join(', ')}`
              : ''),
        );
        return;
      case 'paused':
      case 'replicas':
        currentStage(event.node)?.note(describeMoveEvent(event));
        return;
      case 'activated':
        currentStage(event.node)?.note('activated');
        return;
      case 'rebooted':
        currentStage(event.node)?.note(`rebooted in ${formatDuration(event.downMs)} (boot id changed)`);
        return;
      case 'checks': {
        if (event.node === null) {
          noteChecks(preflight?.done.settled ? undefined : preflight, event.results);
          return;
        }
        const slot = stageOf(event.node, event.stage);
        noteChecks(slot && !slot.done.settled ? slot : currentStage(event.node), event.results);
        return;
      }
      case 'stage-end': {
        const slot = stageOf(event.node, event.stage);
        if (!slot) return;
        slot.started = true;
        slot.clearLive();
        const message = event.message ? `: ${event.message}` : '';
        if (event.outcome === 'succeeded') slot.done.resolve({});
        else if (event.outcome === 'skipped')
          slot.done.resolve({ skipped: `${event.stage} (skipped${message})` });
        else {
          // Not rejected yet: the operator may retry. `halt` or the next stage settles it.
          slot.failedWaiting = true;
          slot.setTitle(`${event.stage} ${figures.cross} failed${message}`);
        }
        return;
      }
      case 'node-end': {
        const view = nodes.get(event.node);
        if (!view) return;
        for (const [name, slot] of view.stages) {
          if (!slot.done.settled) {
            slot.done.resolve({
              skipped: `${name} (${slot.failedWaiting ? 'failed, skipped by operator' : 'skipped'})`,
            });
          }
        }
        view.slot.setTitle(`${view.slot.title} → ${event.availabilityAfter}`);
        return;
      }
      case 'halt':
        halt = event.report;
        settleOpen(new Error(`${event.report.stage}: ${event.report.reason}`));
        return;
      case 'interrupted':
        interrupted = event;
        settleOpen(new Error(`interrupted; resume with: ${event.resumeCommand}`));
        return;
      case 'warning':
        // Traffic warnings come before the first node: under the pre-flight task, at once.
        if (event.source === 'traffic' && preflight) preflight.note(`traffic: ${event.message}`);
        // Others are shown after the tasks: listr2 owns the screen while they run.
        else warnings.push(`${event.source}: ${event.message}`);
        return;
      case 'run-end':
        end = event;
        settleOpen(new Error(`run ${event.outcome}`));
        return;
      default:
        assertNever(event, 'run event');
    }
  }

  function writeEpilogue(): void {
    const out = (line = '') => opts.stdout.write(`${line}\n`);
    if (halt) {
      out();
      for (const line of formatHaltReport(halt))
        out(line.startsWith('HALT') ? `\u001b[31m${line}\u001b[0m` : `  ${line}`);
    }
    if (interrupted?.reason === 'window-end') {
      out(`\nWINDOW END: ${interrupted.message ?? ''}; in the next window: ${interrupted.resumeCommand}`);
    } else if (interrupted) out(`\nINTERRUPTED: resume with: ${interrupted.resumeCommand}`);
    for (const warning of warnings) out(`warning: ${warning}`);
    if (end) out(`\nrun ${end.runId} ${end.outcome} after ${formatDuration(end.durationMs)}`);
    if (end?.summary) out(`summary: ${formatNodeSummary(end.summary)}`);
  }

  const reporter: ListrReporter = {
    onEvent(event) {
      if (closed) return;
      if (paused) queued.push(event);
      else apply(event);
    },
    pause() {
      if (paused || closed) return;
      paused = true;
      renderer?.pause();
    },
    resume() {
      if (!paused || closed) return;
      paused = false;
      for (const event of queued.splice(0)) apply(event);
      renderer?.resume();
    },
    async close() {
      if (closed) return;
      if (paused) reporter.resume();
      closed = true;
      settleOpen(new Error('run ended without a result'));
      await running;
      writeEpilogue();
    },
  };
  return reporter;
}

function describeCheckLine(result: CheckResult): string {
  const icon =
    result.status === 'pass'
      ? figures.tick
      : result.status === 'fail'
        ? figures.cross
        : result.status === 'warn'
          ? figures.warning
          : '-';
  const subject = result.node ? ` ${result.node}:` : '';
  return `${icon} ${result.check}${subject} ${result.message}`;
}
