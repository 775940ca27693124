import { describe, expect, it } from 'vitest';
import { expectedNodeNames } from '../../../src/checks/expected-nodes.js';
import type { SwarmNode } from '../../../src/transport/types.js';

const listed = (hostname: string, state: SwarmNode['state']) => ({ hostname, state }) as SwarmNode;

describe('expectedNodeNames (no baseline: drydock check)', () => {
  it('expects every listed node that is not Down, never a node entry without a hostname', () => {
    const nodes = [
      listed('vm1', 'ready'),
      listed('vm2', 'unknown'),
      listed('vm3', 'down'),
      listed('', 'unknown'),
    ];
    // The nameless entry (seen on the mesh lab after a power cycle) could never be found Ready.
    expect(expectedNodeNames({ nodes })).toEqual(['vm1', 'vm2']);
  });
});
