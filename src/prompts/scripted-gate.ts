import { InternalError } from '../errors.js';
import type { FailureDecision, OperatorGate, PauseDecision, StageDecision } from '../executor/events.js';

/** Answers for a scripted gate; each queue is consumed in order. */
export interface ScriptedAnswers {
  beforeStage?: StageDecision[];
  onFailure?: FailureDecision[];
  confirm?: boolean[];
  /** During a pause; 'waited' lets the pause run out. */
  whilePausing?: PauseDecision[];
  /** What to answer once a queue is empty; without it an empty queue is a test bug. */
  otherwise?: {
    beforeStage?: StageDecision;
    onFailure?: FailureDecision;
    confirm?: boolean;
    whilePausing?: PauseDecision;
  };
}

export type GateCall =
  | { ask: 'beforeStage'; node: string; stage: string; answer: StageDecision }
  | { ask: 'onFailure'; node: string; stage: string; answer: FailureDecision }
  | { ask: 'confirm'; node: string; message: string; answer: boolean }
  | { ask: 'whilePausing'; node: string; stage: string; answer: PauseDecision };

/** A fake gate for tests (the prompts module is a seam tests may replace); records every question. */
export function createScriptedGate(answers: ScriptedAnswers): OperatorGate & { calls: GateCall[] } {
  const queues = {
    beforeStage: [...(answers.beforeStage ?? [])],
    onFailure: [...(answers.onFailure ?? [])],
    confirm: [...(answers.confirm ?? [])],
    whilePausing: [...(answers.whilePausing ?? [])],
  };
  const calls: GateCall[] = [];
  function next<K extends keyof typeof queues>(ask: K): (typeof queues)[K][number] {
    const queue = queues[ask] as (typeof queues)[K][number][];
    const answer = queue.length > 0 ? queue.shift() : answers.otherwise?.[ask];
    if (answer === undefined) throw new InternalError(`scripted gate has no answer left for ${ask}`);
    return answer;
  }
  return {
    calls,
    async beforeStage(node, stage) {
      const answer = next('beforeStage');
      calls.push({ ask: 'beforeStage', node, stage, answer });
      return answer;
    },
    async onFailure(node, stage) {
      const answer = next('onFailure');
      calls.push({ ask: 'onFailure', node, stage, answer });
      return answer;
    },
    async confirm(node, message) {
      const answer = next('confirm');
      calls.push({ ask: 'confirm', node, message, answer });
      return answer;
    },
    async whilePausing(node, stage, _summary, signal) {
      const answer = next('whilePausing');
      calls.push({ ask: 'whilePausing', node, stage, answer });
      if (answer === 'waited' && !signal.aborted) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      }
      return answer;
    },
  };
}
