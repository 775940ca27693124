import { Writable } from 'node:stream';
import { confirm, select } from '@inquirer/prompts';
import type { FailureDecision, OperatorGate, PauseDecision, StageDecision } from '../executor/events.js';
import { describeStage } from '../plan/describe-stage.js';
import type { Plan } from '../plan/types.js';

/**
 * The only module that imports inquirer. The executor asks the operator through `OperatorGate`;
 * here that becomes `select`/`confirm` prompts. Ctrl-C (or an aborted `signal`) during a prompt
 * means "abort", answered quietly: no stack trace, the executor halts at a safe point.
 */
export interface InquirerGateOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Cancels any open prompt (treated as abort), e.g. when the run is interrupted. */
  signal?: AbortSignal;
  /** The plan, so "show details" can list the stage's commands and checks. */
  plan?: Plan;
  /** Called before a prompt appears: pause the live display (see `ListrReporter.pause`). */
  onBeforePrompt?: () => void;
  /** Called after the operator answered, whatever the answer: resume the live display. */
  onAfterPrompt?: () => void;
}

type Choice<T> = { name: string; value: T; description?: string };
const SHOW_DETAILS = 'details' as const;

export function createInquirerGate(opts: InquirerGateOptions = {}): OperatorGate {
  const context = () => createPromptContext(opts);
  const print = (text: string) => (opts.output ?? process.stdout).write(`${text}\n`);

  // One pause/resume around the whole exchange, including "show details" loops.
  async function withPrompt<T>(ask: () => Promise<T>, onCancel: T): Promise<T> {
    opts.onBeforePrompt?.();
    try {
      return await ask();
    } catch (error) {
      if (isPromptCancel(error)) return onCancel;
      throw error;
    } finally {
      opts.onAfterPrompt?.();
    }
  }

  async function askUntilDecided<T extends string>(
    message: string,
    choices: Choice<T | typeof SHOW_DETAILS>[],
    defaultValue: T,
    details: () => string,
  ): Promise<T> {
    for (;;) {
      const answer = await select({ message, choices, default: defaultValue, loop: false }, context());
      if (answer !== SHOW_DETAILS) return answer;
      print(details());
    }
  }

  return {
    beforeStage(node, stage, summary) {
      const choices: Choice<StageDecision | typeof SHOW_DETAILS>[] = [
        { name: 'Continue', value: 'continue' },
        { name: `Continue, and don't ask again for ${node}`, value: 'continue-node' },
        { name: "Continue, and don't ask again in this run", value: 'continue-run' },
        { name: 'Skip this stage', value: 'skip' },
        { name: 'Show details', value: SHOW_DETAILS },
        { name: 'Abort the run (resumable)', value: 'abort' },
      ];
      return withPrompt(
        () =>
          askUntilDecided(describeStagePrompt(node, stage, summary), choices, 'continue', () =>
            describeStageDetails(opts.plan, node, stage, summary),
          ),
        'abort',
      );
    },
    onFailure(node, stage, details) {
      const choices: Choice<FailureDecision | typeof SHOW_DETAILS>[] = [
        { name: 'Retry the stage', value: 'retry' },
        { name: 'Skip this stage and go on', value: 'skip' },
        { name: 'Show details', value: SHOW_DETAILS },
        { name: 'Abort the run (resumable)', value: 'abort' },
      ];
      const message = `${node} › ${stage} failed: ${firstLine(details)}. What now?`;
      // Abort is the default: an operator who just presses Enter gets the safe answer.
      return withPrompt(
        () =>
          askUntilDecided(message, choices, 'abort', () =>
            `${details}\n${describeStageDetails(opts.plan, node, stage, '')}`.trim(),
          ),
        'abort',
      );
    },
    async whilePausing(node, stage, summary, signal) {
      const choices: Choice<PauseDecision>[] = [
        { name: 'Keep waiting', value: 'waited' },
        { name: 'Skip the pause', value: 'skip' },
        { name: 'Abort the run (resumable)', value: 'abort' },
      ];
      const message = `${node} › ${stage}: ${firstLine(summary)}. Skip it?`;
      // The prompt closes by itself when the pause runs out (or the run stops): that is `waited`.
      const closes = opts.signal ? AbortSignal.any([signal, opts.signal]) : signal;
      opts.onBeforePrompt?.();
      try {
        for (;;) {
          const answer = await select(
            { message, choices, default: 'waited', loop: false },
            createPromptContext({ ...opts, signal: closes }),
          );
          // "Keep waiting" asks again: only the clock ends a pause without a decision.
          if (answer !== 'waited') return answer;
        }
      } catch (error) {
        if (closes.aborted) return 'waited';
        if (isPromptCancel(error)) return 'abort';
        throw error;
      } finally {
        opts.onAfterPrompt?.();
      }
    },
    offerRemediation(node, services) {
      const message = `${node}: ${services.join(', ')} did not converge. Force-update (docker service update --force) and check again?`;
      return withPrompt(() => confirm({ message, default: false }, context()), false);
    },
    confirm(node, message) {
      return withPrompt(() => confirm({ message: `${node}: ${message}`, default: false }, context()), false);
    },
  };
}

/** Asks before breaking another run's lock (`drydock unlock`); Ctrl-C means no. */
export async function confirmUnlock(
  owner: string,
  runId: string,
  opts: Pick<InquirerGateOptions, 'input' | 'output' | 'signal'> = {},
): Promise<boolean> {
  const context = () => createPromptContext(opts);
  try {
    return await confirm(
      {
        message: `Remove the lock held by ${owner} for run ${runId}? Only do this if that run is dead.`,
        default: false,
      },
      context(),
    );
  } catch (error) {
    if (isPromptCancel(error)) return false;
    throw error;
  }
}

/** The inquirer context for one prompt: inquirer ends its output after each prompt, so a stream
 * other than process.stdout/stderr is shielded behind a proxy that forwards writes but never ends. */
function createPromptContext(opts: Pick<InquirerGateOptions, 'input' | 'output' | 'signal'>) {
  const { output } = opts;
  const keepOpen = output && output !== process.stdout && output !== process.stderr;
  return {
    ...(opts.input ? { input: opts.input } : {}),
    ...(output ? { output: keepOpen ? shieldFromEnd(output) : output } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

function shieldFromEnd(output: NodeJS.WritableStream): NodeJS.WritableStream {
  const proxy = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output.write(chunk, (error) => callback(error ?? null));
    },
  });
  // Inquirer sizes its layout from the terminal's columns and rows.
  for (const key of ['columns', 'rows', 'isTTY'] as const) {
    Object.defineProperty(proxy, key, { get: () => (output as Partial<NodeJS.WriteStream>)[key] });
  }
  return proxy;
}

/**
 * The stage as the plan describes it (kind, the plan's own description lines, checks after,
 * conditions), for "show details"; without the plan, just the summary the executor gave.
 */
export function describeStageDetails(
  plan: Plan | undefined,
  node: string,
  stage: string,
  summary: string,
): string {
  const planned = plan?.nodes.find((n) => n.name === node)?.stages.find((s) => s.name === stage);
  if (!planned) return summary;
  const lines = [`  kind: ${planned.kind}${planned.description ? ` (${planned.description})` : ''}`];
  for (const line of describeStage(planned)) lines.push(`  ${line}`);
  if (planned.checksAfter.length > 0) lines.push(`  checks after: ${planned.checksAfter.join(', ')}`);
  for (const condition of planned.conditions) lines.push(`  condition: ${condition}`);
  return lines.join('\n');
}

/**
 * The question before a stage. One line reads as a sentence; several (a stage of many commands)
 * are all listed, so the operator approves exactly what will run.
 */
export function describeStagePrompt(node: string, stage: string, summary: string): string {
  const lines = summary.split('\n').filter((line) => line.trim() !== '');
  const commands = lines.filter((line) => line.startsWith('$ '));
  if (commands.length <= 1) return `${node} › ${stage}: ${firstLine(summary)}. Run it?`;
  const listed = lines.map((line) => `    ${line}`).join('\n');
  return `${node} › ${stage}: ${commands.length} commands\n${listed}\n  Run all ${commands.length}?`;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim().replace(/\.$/, '');
}

/** Ctrl-C (ExitPromptError) or an aborted signal (AbortPromptError): the operator backed out. */
function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

export { createScriptedGate, type GateCall, type ScriptedAnswers } from './scripted-gate.js';
