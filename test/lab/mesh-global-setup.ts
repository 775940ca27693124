// vitest globalSetup for the mesh project: one mesh lab (QEMU VMs, real ingress routing mesh) per run.
//   DRYDOCK_MESH_NODES   VM count (default 3: vm1 manager, the rest workers)
//   DRYDOCK_MESH_KEEP=1  leave the lab up afterwards (debugging); a kept lab is reused by `up`
import { meshDeps, meshDown, meshUp } from './mesh.js';

export default async function setup(): Promise<() => Promise<void>> {
  const keep = process.env.DRYDOCK_MESH_KEEP === '1';
  const raw = process.env.DRYDOCK_MESH_NODES ?? '3';
  const nodes = Number(raw);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
    throw new Error(`DRYDOCK_MESH_NODES must be 1..9, got '${raw}'`);
  }
  const t0 = Date.now();
  try {
    // deps is quick when packages + kernel cache are present (dpkg-query only)
    await meshDeps(true);
    await meshUp({ nodes, echo: true });
  } catch (e) {
    if (!keep) await meshDown(true).catch(() => {});
    throw e;
  }
  process.stderr.write(`[mesh] lab ready in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  return async () => {
    if (keep) return;
    await meshDown(true);
  };
}
