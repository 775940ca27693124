import { runChecks, takeBaseline } from '../checks/run-checks.js';
import { renderValue } from '../runbook/substitute.js';
import type { CheckOptions, Runbook } from '../runbook/types.js';
import type { CheckRunnerPort, Clock, ClusterPort } from './ports.js';

/** The check catalogue behind the executor's port, over the run's already-open connections. */
export function createCheckRunner(cluster: ClusterPort, runbook: Runbook, clock: Clock): CheckRunnerPort {
  const options = resolveCheckOptions(runbook);
  const sudo = runbook.connection.ssh.sudo;
  return {
    async takeBaseline(nodes) {
      const swarm = await cluster.swarm();
      const all = await swarm.listNodes();
      return takeBaseline({
        swarm,
        shellOf: (n) => cluster.shellOf(n),
        nodes: all.filter((n) => nodes.includes(n.hostname)),
        now: () => clock.now(),
        sudo,
      });
    },
    async run(names, scope, state) {
      return runChecks(names, {
        scope,
        swarm: await cluster.swarm(),
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
