import { type FactsReads, runChecks, takeBaseline } from '../checks/run-checks.js';
import { renderValue } from '../runbook/substitute.js';
import type { CheckOptions, Runbook } from '../runbook/types.js';
import type { Clock } from '../shared/clock.js';
import { waitUntil } from '../shared/wait-until.js';
import type { SwarmApi } from '../transport/types.js';
import type { CheckRunnerPort, ClusterPort } from './ports.js';

const MANAGER_WAIT_MS = 60_000;

/** The check catalogue behind the executor's port, over the run's already-open connections. */
export function createCheckRunner(cluster: ClusterPort, runbook: Runbook, clock: Clock): CheckRunnerPort {
  const options = resolveCheckOptions(runbook);
  const sudo = runbook.connection.ssh.sudo;
  // What the rounds before the baseline (pre-flight) read: the baseline takes it from there.
  let beforeBaseline: FactsReads = new Map();
  return {
    async takeBaseline(nodes) {
      const swarm = await cluster.swarm();
      const all = await swarm.listNodes();
      const known = beforeBaseline;
      beforeBaseline = new Map();
      return takeBaseline({
        swarm,
        shellOf: (n) => cluster.shellOf(n),
        nodes: all.filter((n) => nodes.includes(n.hostname)),
        now: () => clock.now(),
        sudo,
        known,
      });
    },
    async run(names, scope, state, heartbeat) {
      // After an engine restart on a manager the control plane needs a few seconds; wait for it
      // (bounded) rather than failing every check at once. Still unreachable: every check fails.
      let swarm: SwarmApi;
      try {
        swarm = await waitForManager(cluster, clock, MANAGER_WAIT_MS);
      } catch (error) {
        const message = `no manager answers: ${(error as Error).message}`;
        return names.map((check) => ({
          check,
          status: 'fail' as const,
          message,
          evidence: { error: message },
          durationMs: 0,
        }));
      }
      return runChecks(names, {
        scope,
        swarm,
        engineOf: (n) => cluster.engineOf(n),
        shellOf: (n) => cluster.shellOf(n),
        ...(state.baseline ? { baseline: state.baseline } : {}),
        expectedAvailability: state.expectedAvailability,
        rebootedFrom: state.rebootedFrom,
        stageStartedAt: state.stageStartedAt,
        options,
        now: () => clock.now(),
        sleep: (ms, signal) => clock.sleep(ms, signal),
        sudo,
        ...(heartbeat ? { heartbeat } : {}),
        ...(state.baseline ? {} : { factsRead: beforeBaseline }),
      });
    },
  };
}

/** Check options with ${variables} substituted (e.g. the expected engine version). */
export function resolveCheckOptions(runbook: Runbook): CheckOptions {
  const expected = runbook.checks.options['engine-version'].expected;
  if (expected === undefined) return runbook.checks.options;
  const scope = { variables: runbook.variables, runbook: { name: runbook.name } };
  return {
    ...runbook.checks.options,
    'engine-version': {
      ...runbook.checks.options['engine-version'],
      expected: renderValue(expected, scope, { reveal: true }).text,
    },
  };
}

/** A manager's API, retrying while none answers (e.g. the only manager's engine restarting). */
export async function waitForManager(
  cluster: ClusterPort,
  clock: Clock,
  timeoutMs: number,
): Promise<SwarmApi> {
  const outcome = await waitUntil(
    { now: () => clock.now(), sleep: clock.sleep },
    timeoutMs,
    async (): Promise<{ done: boolean; value: SwarmApi | Error }> => {
      try {
        return { done: true, value: await cluster.swarm() };
      } catch (error) {
        return { done: false, value: error as Error };
      }
    },
  );
  if (!outcome.done) throw outcome.value;
  return outcome.value as SwarmApi;
}
