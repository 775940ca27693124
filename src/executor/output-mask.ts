import type { Variable } from '../runbook/types.js';
import type { CommandResult } from '../transport/types.js';

/** Secret values, masked as ***** wherever command output mentions them. */
export class SecretMask {
  private readonly secrets: string[];

  constructor(variables: readonly Variable[]) {
    // Only values long enough to be meaningful: masking "a" would shred every line.
    this.secrets = variables
      .filter((v) => v.secret && v.value && v.value.length >= 3)
      .map((v) => v.value as string);
  }

  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('*****');
    return out;
  }

  result(result: CommandResult): CommandResult {
    if (this.secrets.length === 0) return result;
    return { ...result, stdout: this.text(result.stdout), stderr: this.text(result.stderr) };
  }

  /** Exec callbacks that cut streamed output into lines and hand each on, masked. */
  streamLines(onLine: (stream: 'stdout' | 'stderr', line: string) => void) {
    const buffers = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr') => (chunk: string) => {
      buffers[stream] += chunk;
      const lines = buffers[stream].split('\n');
      buffers[stream] = lines.pop() ?? '';
      for (const line of lines) onLine(stream, this.text(line));
    };
    return { onStdout: feed('stdout'), onStderr: feed('stderr') };
  }
}
