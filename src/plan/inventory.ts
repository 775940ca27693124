import { z } from 'zod';
import { InvalidInputError, type Problem } from '../errors.js';
import { isErrorProblem, sortProblems } from '../shared/problems.js';
import type { DocPath } from '../source/doc-path.js';
import { createProblem } from '../source/locate-path.js';
import { parseYamlSource } from '../source/parse-yaml.js';
import { type DecodeOptions, decodeSource, readSourceFile } from '../source/read-source.js';
import type { ProblemOptions } from '../source/source-problem.js';
import { validateYamlSource } from '../source/validate-yaml.js';
import type { ClusterFacts, ClusterNodeFacts, ServiceFacts } from './types.js';

/**
 * Inventory files: a YAML description of a cluster, so `plan` can run offline. Same positioned
 * loading as runbooks (bytes → YAML → schema → rules); produces `ClusterFacts`. Pure apart from
 * reading the file.
 */

const rawPort = z.strictObject({
  published: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .describe('Port published on every node (ingress) or the host.'),
  target: z.number().int().min(1).max(65535).describe('Port inside the container.'),
  protocol: z.enum(['tcp', 'udp', 'sctp']).default('tcp'),
  mode: z
    .enum(['ingress', 'host'])
    .default('ingress')
    .describe('ingress: the routing mesh; host: only where a task runs.'),
});

const rawInventoryNode = z.strictObject({
  hostname: z.string().min(1).describe('Swarm node hostname.'),
  id: z.string().min(1).optional().describe('Swarm node ID; defaults to the hostname.'),
  address: z.string().min(1).describe('Node address as Swarm reports it.'),
  role: z.enum(['manager', 'worker']),
  leader: z.boolean().default(false).describe('The current Raft leader (exactly one manager).'),
  availability: z.enum(['active', 'pause', 'drain']).default('active'),
  state: z.enum(['unknown', 'down', 'ready', 'disconnected']).default('ready'),
  reachability: z
    .enum(['unknown', 'unreachable', 'reachable'])
    .optional()
    .describe('Managers only; default reachable.'),
  labels: z.record(z.string(), z.string()).default({}),
  engineVersion: z.string().min(1).describe('Docker Engine version, e.g. 20.10.24.'),
});

const rawInventoryService = z.strictObject({
  name: z.string().min(1),
  mode: z.enum(['replicated', 'global']).default('replicated'),
  replicas: z.number().int().min(0).optional().describe('Replicated services only.'),
  ports: z.array(rawPort).default([]),
});

/** The inventory file format. */
export const rawInventory = z
  .strictObject({
    nodes: z.array(rawInventoryNode).min(1).describe('Every node in the swarm.'),
    services: z.array(rawInventoryService).default([]).describe('Services and their published ports.'),
  })
  .describe('A description of a Docker Swarm cluster for offline planning.');

export type RawInventory = z.input<typeof rawInventory>;
type ParsedInventory = z.output<typeof rawInventory>;

type Report = (path: DocPath, message: string, options?: ProblemOptions) => void;

/** Cross-checks the schema cannot express. */
function checkInventory(inventory: ParsedInventory, report: Report): void {
  const leaders = inventory.nodes.flatMap((node, index) => (node.leader ? [index] : []));
  for (const index of leaders) {
    const node = inventory.nodes[index];
    if (node?.role === 'worker') {
      report(['nodes', index, 'leader'], `worker \`${node.hostname}\` cannot be the leader`, {
        hint: 'only managers take part in Raft; mark a manager as leader',
      });
    }
  }
  const managerLeaders = leaders.filter((index) => inventory.nodes[index]?.role === 'manager');
  if (managerLeaders.length === 0) {
    const firstManager = inventory.nodes.findIndex((node) => node.role === 'manager');
    report(firstManager === -1 ? ['nodes'] : ['nodes', firstManager], 'no manager is marked `leader: true`', {
      hint:
        firstManager === -1
          ? 'a swarm needs at least one manager'
          : 'exactly one manager is the leader (docker node ls shows "Leader")',
    });
  }
  for (const index of managerLeaders.slice(1)) {
    report(['nodes', index, 'leader'], 'more than one leader', {
      hint: `\`${inventory.nodes[managerLeaders[0] ?? 0]?.hostname}\` is already the leader`,
    });
  }

  for (const field of ['hostname', 'address', 'id'] as const) {
    const seen = new Map<string, number>();
    inventory.nodes.forEach((node, index) => {
      const value = node[field];
      if (value === undefined) return;
      const first = seen.get(value);
      if (first !== undefined) {
        report(['nodes', index, field], `duplicate ${field} \`${value}\` (also nodes[${first}])`);
      } else {
        seen.set(value, index);
      }
    });
  }

  inventory.nodes.forEach((node, index) => {
    if (node.role === 'worker' && node.reachability !== undefined) {
      report(['nodes', index, 'reachability'], 'reachability applies to managers only', { at: 'key' });
    }
  });

  const names = new Map<string, number>();
  inventory.services.forEach((service, index) => {
    const first = names.get(service.name);
    if (first !== undefined)
      report(['services', index, 'name'], `duplicate service \`${service.name}\` (also services[${first}])`);
    else names.set(service.name, index);
    if (service.mode === 'replicated' && service.replicas === undefined) {
      report(['services', index], `replicated service \`${service.name}\` needs \`replicas\``);
    }
    if (service.mode === 'global' && service.replicas !== undefined) {
      report(['services', index, 'replicas'], 'a global service runs one task per node: remove `replicas`', {
        at: 'key',
      });
    }
  });

  const published = new Map<string, string>();
  inventory.services.forEach((service, index) => {
    service.ports.forEach((port, portIndex) => {
      if (port.mode !== 'ingress') return;
      const key = `${port.published}/${port.protocol}`;
      const owner = published.get(key);
      if (owner !== undefined) {
        report(
          ['services', index, 'ports', portIndex, 'published'],
          `port ${key} is already published by \`${owner}\``,
        );
      } else {
        published.set(key, service.name);
      }
    });
  });
}

function toClusterNodeFacts(node: ParsedInventory['nodes'][number]): ClusterNodeFacts {
  const facts: ClusterNodeFacts = {
    id: node.id ?? node.hostname,
    hostname: node.hostname,
    address: node.address,
    role: node.role,
    leader: node.leader,
    availability: node.availability,
    state: node.state,
    labels: node.labels,
    engineVersion: node.engineVersion,
  };
  if (node.role === 'manager') facts.reachability = node.reachability ?? 'reachable';
  return facts;
}

function toServiceFacts(service: ParsedInventory['services'][number]): ServiceFacts {
  return {
    name: service.name,
    mode: service.mode,
    ...(service.replicas !== undefined ? { replicas: service.replicas } : {}),
    ports: service.ports,
  };
}

export type InventoryResult =
  | { ok: true; facts: ClusterFacts; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

/** Parses and validates inventory text without throwing on invalid content. */
export function checkInventoryText(
  input: string | Buffer,
  file: string,
  options: DecodeOptions = {},
): InventoryResult {
  const decoded = decodeSource(input, file, options);
  if (decoded.text === undefined) return { ok: false, problems: decoded.problems };
  const parsed = parseYamlSource(decoded.text, file);
  if (!parsed.source) return { ok: false, problems: sortProblems(parsed.problems) };
  const source = parsed.source;
  const validated = validateYamlSource(source, rawInventory, {
    rootHint: 'an inventory has `nodes:` (and optionally `services:`) at the top level',
  });
  const problems = [...parsed.problems, ...validated.problems];
  if (!validated.data) return { ok: false, problems: sortProblems(problems) };
  checkInventory(validated.data, (path, message, problemOptions) => {
    problems.push(createProblem(source, path, message, problemOptions));
  });
  if (problems.some(isErrorProblem)) return { ok: false, problems: sortProblems(problems) };
  return {
    ok: true,
    facts: {
      source: 'inventory',
      origin: file,
      nodes: validated.data.nodes.map(toClusterNodeFacts),
      services: validated.data.services.map(toServiceFacts),
    },
    warnings: sortProblems(problems),
  };
}

/** Parses inventory text; throws `InvalidInputError` with every problem found. */
export function parseInventoryText(
  input: string | Buffer,
  file: string,
  options: DecodeOptions = {},
): ClusterFacts {
  const result = checkInventoryText(input, file, options);
  if (!result.ok) throw new InvalidInputError(result.problems);
  return result.facts;
}

/** Reads and parses an inventory file; `UsageError` if unreadable, `InvalidInputError` if invalid. */
export async function parseInventoryFile(path: string, options: DecodeOptions = {}): Promise<ClusterFacts> {
  const read = await readSourceFile(path, options);
  if (!read.bytes) throw new InvalidInputError(read.problems);
  return parseInventoryText(read.bytes, path, options);
}
