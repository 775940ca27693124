import type { SubstitutionScope } from '../runbook/substitute.js';
import type { Runbook } from '../runbook/types.js';
import type { PlannedNode } from './types.js';

/** What `${…}` in a planned node's commands resolves against: the runbook's variables and the node. */
export function scopeForPlannedNode(runbook: Runbook, node: PlannedNode): SubstitutionScope {
  return {
    variables: runbook.variables,
    node: { hostname: node.name, address: node.address, role: node.role },
    runbook: { name: runbook.name },
  };
}
