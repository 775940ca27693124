import { LockHeldError } from '../errors.js';
import type { SwarmApi } from '../transport/types.js';

/**
 * The cluster-wide lock, stored in the swarm itself as a config named `drydock-lock`.
 * Config names are unique in a swarm, so creating it is atomic: two operators on two laptops
 * cannot both succeed. The owner, run id and expiry ride on its labels.
 *
 * A stale (expired) lock is reported, never taken over silently: `drydock unlock` removes it.
 */
export const LOCK_NAME = 'drydock-lock';

export interface LockInfo {
  id: string;
  owner: string;
  runId: string;
  acquiredAt: string;
  expiresAt: string;
  /** Why a held lock is idle, e.g. "paused at the window's end … until the next window". */
  note?: string;
}

export async function readLock(swarm: SwarmApi): Promise<LockInfo | undefined> {
  const configs = await swarm.listConfigs(LOCK_NAME);
  const config = configs.find((c) => c.name === LOCK_NAME);
  if (!config) return undefined;
  return {
    id: config.id,
    owner: config.labels['drydock.owner'] ?? 'unknown',
    runId: config.labels['drydock.run-id'] ?? 'unknown',
    acquiredAt: config.labels['drydock.acquired-at'] ?? 'unknown',
    expiresAt: config.labels['drydock.expires-at'] ?? 'unknown',
    ...(config.labels['drydock.note'] ? { note: config.labels['drydock.note'] } : {}),
  };
}

export function isLockExpired(lock: LockInfo, now: number): boolean {
  const expires = Date.parse(lock.expiresAt);
  return Number.isFinite(expires) && expires < now;
}

/**
 * Take the lock for `runId`. A lock already held by the same run (resume) is adopted.
 * Anything else refuses, with who holds it and how to release it.
 */
export async function acquireLock(
  swarm: SwarmApi,
  request: { owner: string; runId: string; ttlMs: number; now: number },
): Promise<{ lock: LockInfo; adopted: boolean }> {
  const existing = await readLock(swarm);
  if (existing) {
    if (existing.runId === request.runId) return { lock: existing, adopted: true };
    throw lockHeld(existing, request.now);
  }
  const acquiredAt = new Date(request.now).toISOString();
  const expiresAt = new Date(request.now + request.ttlMs).toISOString();
  const labels = {
    'drydock.owner': request.owner,
    'drydock.run-id': request.runId,
    'drydock.acquired-at': acquiredAt,
    'drydock.expires-at': expiresAt,
  };
  try {
    const id = await swarm.createConfig(LOCK_NAME, labels, JSON.stringify(labels));
    return {
      lock: { id, owner: request.owner, runId: request.runId, acquiredAt, expiresAt },
      adopted: false,
    };
  } catch (error) {
    // Lost a race with another operator: the name now exists.
    const winner = await readLock(swarm);
    if (winner) throw lockHeld(winner, request.now);
    throw error;
  }
}

/**
 * Push the lock's expiry to `now + ttlMs`, if the lock is still this run's. Returns the lock
 * as renewed, or who holds it instead (undefined holder: nobody, it was removed).
 */
export async function renewLock(
  swarm: SwarmApi,
  request: { runId: string; ttlMs: number; now: number },
): Promise<{ renewed: true; lock: LockInfo } | { renewed: false; holder: LockInfo | undefined }> {
  const existing = await readLock(swarm);
  if (!existing || existing.runId !== request.runId) return { renewed: false, holder: existing };
  const lock = { ...existing, expiresAt: new Date(request.now + request.ttlMs).toISOString() };
  await swarm.updateConfigLabels(existing.id, {
    'drydock.owner': lock.owner,
    'drydock.run-id': lock.runId,
    'drydock.acquired-at': lock.acquiredAt,
    'drydock.expires-at': lock.expiresAt,
  });
  return { renewed: true, lock };
}

/** Label the lock of `runId` with a note (kept until the next renewal rewrites the labels). */
export async function noteLock(swarm: SwarmApi, runId: string, note: string): Promise<boolean> {
  const existing = await readLock(swarm);
  if (!existing || existing.runId !== runId) return false;
  await swarm.updateConfigLabels(existing.id, {
    'drydock.owner': existing.owner,
    'drydock.run-id': existing.runId,
    'drydock.acquired-at': existing.acquiredAt,
    'drydock.expires-at': existing.expiresAt,
    'drydock.note': note,
  });
  return true;
}

/** Why a run no longer holds its lock, for the halt message. */
export function describeLostLock(holder: LockInfo | undefined): string {
  return holder
    ? `the cluster lock was taken by ${holder.owner} (run ${holder.runId}) while this run held it`
    : 'the cluster lock of this run was removed while it ran (a forced `drydock unlock`?)';
}

export async function releaseLock(swarm: SwarmApi, runId: string): Promise<boolean> {
  const existing = await readLock(swarm);
  if (!existing || existing.runId !== runId) return false;
  await swarm.removeConfig(existing.id);
  return true;
}

function lockHeld(lock: LockInfo, now: number): LockHeldError {
  const stale = isLockExpired(lock, now);
  return new LockHeldError(
    `the cluster is locked by ${lock.owner} (run ${lock.runId}, since ${lock.acquiredAt}` +
      `${stale ? `, STALE: expired ${lock.expiresAt}` : `, expires ${lock.expiresAt}`})` +
      (lock.note ? `: ${lock.note}` : ''),
    {
      hint: stale
        ? `the lock is stale; if that run is really gone, resume it (drydock resume ${lock.runId}) or release it with \`drydock unlock\``
        : `wait for that run, resume it on its owner's machine, or release it with \`drydock unlock\` if you are sure`,
    },
  );
}
