import type { PlannedStage } from '../../plan/types.js';
import { quoteShellArg } from '../../runbook/substitute.js';
import type { Clock } from '../../shared/clock.js';
import type { WaitHeartbeat } from '../../shared/wait-until.js';
import type { CommandResult, NodeShell } from '../../transport/types.js';
import type { ClusterPort } from '../ports.js';

export const BOOT_ID_COMMAND = 'cat /proc/sys/kernel/random/boot_id';

export type RebootOutcome =
  | { status: 'not-required'; detail: string }
  | { status: 'rebooted'; bootIdBefore: string; bootIdAfter: string; downMs: number; waitedMs: number }
  | { status: 'failed'; detail: string; command?: CommandResult };

type RebootStage = Extract<PlannedStage, { kind: 'reboot' }>;

/**
 * Reboot the node and prove it: issue the command, expect the connection to drop, reconnect
 * with backoff until the node answers, and accept the return only when the boot id changed.
 */
export async function rebootNode(
  cluster: ClusterPort,
  node: string,
  stage: RebootStage,
  command: string,
  options: {
    clock: Clock;
    sudo: boolean;
    signal?: AbortSignal;
    onProgress?: (message: string) => void;
    /** Beats with the last reason the node is not back yet. */
    heartbeat?: WaitHeartbeat<string>;
  },
): Promise<RebootOutcome> {
  const { clock } = options;
  const shell = await cluster.shellOf(node);
  if (stage.when === 'if-required') {
    const probe = await shell.exec(`test -e ${quoteShellArg(stage.requiredFile)}`, { timeoutMs: 30_000 });
    if (probe.exitCode === 1)
      return { status: 'not-required', detail: `${stage.requiredFile} does not exist` };
    if (probe.exitCode !== 0)
      return { status: 'failed', detail: 'could not test for the reboot-required file', command: probe };
  }
  const before = await readBootId(shell);
  if (!before) return { status: 'failed', detail: 'could not read the boot id before rebooting' };

  const issuedAt = clock.now();
  const issued = await shell.exec(command, {
    timeoutMs: 30_000,
    sudo: options.sudo,
    display: stage.command.display,
  });
  // A reboot may end the command cleanly, kill the connection, or hang it: all mean "issued".
  // A clean non-zero exit with the connection alive means the command itself failed.
  if (issued.exitCode !== null && issued.exitCode !== 0 && !issued.connectionLost) {
    return { status: 'failed', detail: `the reboot command exited ${issued.exitCode}`, command: issued };
  }
  options.onProgress?.('reboot issued; waiting for the node to go down and come back');

  const deadline = issuedAt + stage.returnTimeoutMs;
  let backoffMs = 500;
  let lastError = 'no answer yet';
  let wentDown = false;
  let lastBeatAt = issuedAt;
  while (clock.now() < deadline && !options.signal?.aborted) {
    if (options.heartbeat && clock.now() - lastBeatAt >= options.heartbeat.everyMs) {
      lastBeatAt = clock.now();
      options.heartbeat.beat(lastError, clock.now() - issuedAt);
    }
    await clock.sleep(backoffMs, options.signal);
    backoffMs = Math.min(backoffMs * 1.5, 5000);
    try {
      const fresh = await cluster.reconnect(node);
      const after = await readBootId(fresh);
      if (after && after !== before) {
        return {
          status: 'rebooted',
          bootIdBefore: before,
          bootIdAfter: after,
          downMs: clock.now() - issuedAt,
          waitedMs: clock.now() - issuedAt,
        };
      }
      // Same boot id: the node has not gone down yet (or the reboot did nothing); keep waiting.
      lastError = `boot id still ${before}`;
    } catch (error) {
      wentDown = true;
      lastError = (error as Error).message;
    }
  }
  return {
    status: 'failed',
    detail: wentDown
      ? `the node did not come back within ${Math.round(stage.returnTimeoutMs / 1000)}s (last error: ${lastError})`
      : `the node did not reboot: ${lastError} after ${Math.round(stage.returnTimeoutMs / 1000)}s`,
  };
}

export async function readBootId(shell: NodeShell): Promise<string | undefined> {
  const result = await shell.exec(BOOT_ID_COMMAND, { timeoutMs: 15_000 });
  const id = result.stdout.trim();
  return result.exitCode === 0 && id ? id : undefined;
}
