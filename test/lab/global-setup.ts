// vitest globalSetup for the integration project: one namespace lab for the whole run.
//   DRYDOCK_LAB_NODES / DRYDOCK_LAB_MANAGERS  shape (default 3 / 1)
//   DRYDOCK_LAB_KEEP=1                        leave the lab up afterwards (debugging)
import { execa } from 'execa';
import { LAB_SH, labDown, labUp } from './lab.js';

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

export default async function setup(): Promise<() => Promise<void>> {
  const keep = process.env.DRYDOCK_LAB_KEEP === '1';
  // `deps` returns at once when every package is installed (dpkg-query only, no apt).
  await execa('bash', [LAB_SH, 'deps'], { stdio: 'inherit' });
  const nodes = intEnv('DRYDOCK_LAB_NODES', 3);
  const managers = intEnv('DRYDOCK_LAB_MANAGERS', 1);
  try {
    await labUp({ nodes, managers });
  } catch (e) {
    if (!keep) await labDown().catch(() => {});
    throw e;
  }
  return async () => {
    if (keep) return;
    await labDown();
  };
}
