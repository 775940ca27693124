import { listSecretValues } from '../runbook/substitute.js';
import type { Variable } from '../runbook/types.js';
import { createSecretMasker, type SecretMasker } from '../shared/mask-secrets.js';
import type { RunEvent } from './events.js';

/**
 * The run's one masking point. Every event passes through `event()` on its way to the journal,
 * the reporters and the notifier, so no stage kind, halt report or check evidence can carry a
 * secret out, whatever path produced it. Streams are masked across chunk and line boundaries.
 */
export class SecretMask {
  private readonly masker: SecretMasker;

  constructor(variables: readonly Variable[]) {
    this.masker = createSecretMasker(listSecretValues(variables));
  }

  text(text: string): string {
    return this.masker.mask(text);
  }

  /** A command result for the operator's prompts (which see results before any event does). */
  result<R extends object>(result: R): R {
    return this.masker.empty ? result : (maskDeep(result, (s) => this.masker.mask(s)) as R);
  }

  /** The event with every string in it masked (a fresh object; the original is untouched). */
  event<E extends RunEvent>(event: E): E {
    if (this.masker.empty) return event;
    return maskDeep(event, (s) => this.masker.mask(s)) as E;
  }

  /**
   * Exec callbacks that cut streamed output into lines and hand each on, masked. Call `end()`
   * when the command ended: the masker holds back a secret's length of text, and a last line may
   * lack its newline.
   */
  streamLines(onLine: (stream: 'stdout' | 'stderr', line: string) => void) {
    const feed = (stream: 'stdout' | 'stderr') => {
      // Mask before cutting into lines: a secret split across chunks or lines is still caught.
      const masker = this.masker.stream();
      let buffer = '';
      const release = (text: string, last: boolean) => {
        buffer += text;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) onLine(stream, line);
        if (last && buffer) onLine(stream, buffer);
        if (last) buffer = '';
      };
      return {
        write: (chunk: string) => release(masker.write(chunk), false),
        end: () => release(masker.end(), true),
      };
    };
    const stdout = feed('stdout');
    const stderr = feed('stderr');
    return {
      onStdout: stdout.write,
      onStderr: stderr.write,
      end: () => {
        stdout.end();
        stderr.end();
      },
    };
  }
}

function maskDeep(value: unknown, mask: (s: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = maskDeep(item, mask);
    return out;
  }
  return value;
}
