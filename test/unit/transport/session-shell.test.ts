import { describe, expect, it } from 'vitest';
import { EndMarkerReader } from '../../../src/transport/session-shell.js';

describe('EndMarkerReader', () => {
  const marker = '\x1eDRYDOCK-END abc-1 3 0\n';

  it('splits the command bytes off at its marker, however the stream is chunked', () => {
    const stream = Buffer.from(`out\x1epartial \x1eDRYDOCK-END other-1 0 0\nno newline${marker}`, 'latin1');
    for (let size = 1; size <= stream.length; size++) {
      const reader = new EndMarkerReader('abc-1');
      const parts: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size)
        parts.push(reader.push(stream.subarray(at, at + size)));
      expect(Buffer.concat(parts).toString('latin1')).toBe(
        'out\x1epartial \x1eDRYDOCK-END other-1 0 0\nno newline',
      );
      expect(reader.ended).toEqual({ code: 3, leftover: false });
    }
  });

  it('holds back only a possible marker start, and reports leftovers', () => {
    const reader = new EndMarkerReader('abc-1');
    expect(reader.push(Buffer.from('line\n')).toString()).toBe('line\n');
    expect(reader.push(Buffer.from('x\x1eDRYDOCK-E')).toString()).toBe('x');
    expect(reader.push(Buffer.from('ND abc-1 0 1\n')).toString()).toBe('');
    expect(reader.ended).toEqual({ code: 0, leftover: true });
  });
});
