import { describe, expect, it } from 'vitest';
import { SecretMask } from '../../../src/executor/output-mask.js';

describe('SecretMask.streamLines', () => {
  it('hands on every line once the command ended, masked, including what it held back', () => {
    const mask = new SecretMask([
      { name: 'tok', value: 'feed-s3cret-value', secret: true, source: { type: 'literal' } },
    ]);
    const lines: string[] = [];
    const stream = mask.streamLines((s, line) => lines.push(`${s} ${line}`));
    stream.onStdout?.('token=feed-s3cret-value\nplain-line\nlast without newline');
    // The tail is held back until the end: it could be the start of a secret.
    expect(lines).not.toContain('stdout last without newline');
    stream.end();
    expect(lines).toEqual(['stdout token=*****', 'stdout plain-line', 'stdout last without newline']);
  });
});
