import { describe, expect, it } from 'vitest';
import { countOf } from '../../../src/shared/plural.js';

describe('countOf', () => {
  it('uses the singular for exactly one and the plural otherwise', () => {
    expect(countOf(1, 'node')).toBe('1 node');
    expect(countOf(0, 'node')).toBe('0 nodes');
    expect(countOf(2, 'retry', 'retries')).toBe('2 retries');
    expect(countOf(1, 'retry', 'retries')).toBe('1 retry');
  });
});
