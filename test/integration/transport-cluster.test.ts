import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterConnection, connectCluster } from '../../src/transport/cluster.js';
import { type LabInfo, readLab } from '../lab/lab.js';

// connectCluster against the lab: one seed manager address, everything else learned from the swarm.
describe('cluster connection against the lab', () => {
  let lab: LabInfo;
  let cluster: ClusterConnection;

  beforeAll(async () => {
    lab = readLab();
    const seed = lab.nodes.find((n) => n.role === 'manager')!;
    cluster = await connectCluster({
      ssh: {
        user: lab.user,
        port: 22,
        identityFile: lab.sshKey,
        agent: false,
        knownHosts: lab.knownHosts,
        hostKeyPolicy: 'strict',
        sshConfig: false,
        sudo: false,
        connectTimeoutMs: 10_000,
        hosts: {},
      },
      docker: { via: 'ssh', socket: '/var/run/docker.sock', managers: [seed.ip] },
    });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('enters through a seed manager and learns every node from the swarm', async () => {
    const api = await cluster.swarm();
    const nodes = await api.listNodes();
    expect(nodes).toHaveLength(lab.nodes.length);
    for (const node of lab.nodes) expect(cluster.sshTargetOf(node.name).host).toBe(node.ip);
    expect(await cluster.swarm()).toBe(api);
  });

  it('caches one shell per node and reaches each node’s own engine', async () => {
    const worker = lab.nodes.find((n) => n.role === 'worker')!;
    const shell = await cluster.shellOf(worker.name);
    expect(await cluster.shellOf(worker.name)).toBe(shell);
    expect((await shell.exec('hostname')).stdout.trim()).toBe(worker.name);
    const engine = await cluster.engineOf(worker.name);
    expect((await engine.info()).hostname).toBe(worker.name);

    const again = await cluster.reconnect(worker.name);
    expect(again.connected).toBe(true);
    expect((await again.exec('echo back')).stdout).toBe('back\n');
  });

  it('finds a manager other than the one about to be maintained', async () => {
    const managers = lab.nodes.filter((n) => n.role === 'manager');
    const current = (await (await cluster.swarm()).info()).hostname;
    if (managers.length > 1) {
      const other = await cluster.swarmAvoiding(current);
      expect((await other.info()).hostname).not.toBe(current);
      expect((await other.info()).controlAvailable).toBe(true);
    } else {
      await expect(cluster.swarmAvoiding(current)).rejects.toMatchObject({ code: 'DRYDOCK_CONNECTION' });
    }
  });
});
