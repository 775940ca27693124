import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerApi } from '../../src/transport/docker.js';
import { createSshShellFactory, type SshShell } from '../../src/transport/ssh.js';
import type { SshTarget, SwarmApi, SwarmEvent } from '../../src/transport/types.js';
import { type LabInfo, type LabNode, readLab } from '../lab/lab.js';

// The Docker adapter against the namespace lab's real dockerd engines, reached the way drydock
// reaches them in production: the engine's unix socket forwarded over the node's SSH connection.
describe('docker transport against the lab', () => {
  let lab: LabInfo;
  let manager: LabNode;
  let worker: LabNode;
  let shell: SshShell;
  let api: SwarmApi;
  const factory = createSshShellFactory({ env: {} });
  const targetOf = (node: LabNode): SshTarget => ({
    node: node.name,
    host: node.ip,
    port: 22,
    user: lab.user,
    identityFile: lab.sshKey,
    agent: false,
    knownHostsFile: lab.knownHosts,
    hostKeyPolicy: 'strict',
    useSshConfig: false,
    connectTimeoutMs: 10_000,
  });

  beforeAll(async () => {
    lab = readLab();
    manager = lab.nodes.find((n) => n.role === 'manager')!;
    worker = lab.nodes.find((n) => n.role === 'worker')!;
    shell = await factory.connect(targetOf(manager));
    api = createDockerApi({ kind: 'ssh', shell, socketPath: '/var/run/docker.sock' });
  });
  afterAll(async () => {
    await api?.close();
    await shell?.close();
  });

  it('reads engine info and the node list over the SSH socket forward', async () => {
    await api.ping();
    const info = await api.info();
    expect(info).toMatchObject({ hostname: manager.name, localNodeState: 'active', controlAvailable: true });
    expect(info.nodes).toBe(lab.nodes.length);
    const nodes = await api.listNodes();
    expect(nodes.map((n) => n.hostname).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    const self = nodes.find((n) => n.hostname === manager.name)!;
    expect(self).toMatchObject({ role: 'manager', state: 'ready', availability: 'active' });
    expect(self.manager).toMatchObject({ reachability: 'reachable' });
    expect(nodes.filter((n) => n.manager?.leader)).toHaveLength(1);
    expect(self.engineVersion).toBe(lab.engineVersion);
    expect(nodes.find((n) => n.hostname === worker.name)?.address).toBe(worker.ip);
  });

  it('opens many API requests on the one SSH connection', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => api.info()));
    expect(new Set(results.map((r) => r.nodeId)).size).toBe(1);
    expect(shell.connected).toBe(true);
  });

  it('sets availability with the version index and keeps the rest of the spec', async () => {
    const before = (await api.listNodes()).find((n) => n.hostname === worker.name)!;
    const labels = { ...before.labels, 'drydock.test': 'kept' };
    // Set a label out of band, so we can see the availability update keeps it.
    await shell.exec(`docker node update --label-add drydock.test=kept ${before.id}`);
    const labelled = await api.inspectNode(before.id);
    expect(labelled.labels).toEqual(labels);

    await api.setNodeAvailability(labelled.id, labelled.version, 'drain');
    const drained = await api.inspectNode(before.id);
    expect(drained).toMatchObject({ availability: 'drain', role: 'worker', labels });
    expect(drained.version).toBeGreaterThan(labelled.version);

    // A stale version index is refused by the engine (optimistic concurrency).
    await expect(api.setNodeAvailability(before.id, labelled.version, 'active')).rejects.toMatchObject({
      code: 'DRYDOCK_CONNECTION',
    });
    await api.setNodeAvailability(drained.id, drained.version, 'active');
    const restored = await api.inspectNode(before.id);
    expect(restored.availability).toBe('active');
    await shell.exec(`docker node update --label-rm drydock.test ${before.id}`);
  });

  it('lists services with their running and desired counts, tasks and networks', async () => {
    const name = `ddx-transport-${process.pid}`;
    const created = await shell.exec(
      `docker service create --detach --name ${name} --replicas 2 --publish 18080:80 ${lab.image} sleep 3600`,
    );
    expect(created.exitCode, created.stderr).toBe(0);
    try {
      let service = (await api.listServices()).find((s) => s.name === name)!;
      const deadline = Date.now() + 120_000;
      while ((service.runningTasks ?? 0) < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        service = (await api.listServices()).find((s) => s.name === name)!;
      }
      expect(service).toMatchObject({ mode: 'replicated', replicas: 2, runningTasks: 2, desiredTasks: 2 });
      expect(service.ports).toEqual([{ published: 18080, target: 80, protocol: 'tcp', mode: 'ingress' }]);
      const tasks = await api.listTasks({ service: service.id, desiredState: 'running' });
      expect(tasks).toHaveLength(2);
      expect(tasks.every((t) => t.state === 'running' && t.addresses.length > 0)).toBe(true);

      const ingress = await api.inspectNetwork('ingress', true);
      expect(ingress.ingress).toBe(true);
      expect(ingress.peers.length).toBeGreaterThan(0);
      expect(Object.keys(ingress.services)).toContain(name);

      const version = service.version;
      await api.forceUpdateService(service.id);
      const updated = (await api.listServices()).find((s) => s.name === name)!;
      expect(updated.version).toBeGreaterThan(version);
    } finally {
      await shell.exec(`docker service rm ${name}`);
    }
  });

  it('creates, lists and removes configs, and streams events until aborted', async () => {
    const controller = new AbortController();
    const seen: SwarmEvent[] = [];
    const watching = (async () => {
      for await (const event of api.events({ type: ['config'] }, controller.signal)) {
        seen.push(event);
        if (seen.length >= 2) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const name = `drydock-lock-test-${process.pid}`;
    const id = await api.createConfig(name, { 'drydock.lock': 'test' }, '{"owner":"test"}');
    expect(id).not.toBe('');
    expect(await api.listConfigs(name)).toEqual([{ id, name, labels: { 'drydock.lock': 'test' } }]);
    await api.removeConfig(id);
    expect(await api.listConfigs(name)).toEqual([]);
    await watching;
    expect(seen.map((e) => e.action)).toEqual(['create', 'remove']);
    expect(seen[0]).toMatchObject({ type: 'config', id, attributes: { name } });
  });

  it("reaches a worker's own engine over its own SSH connection", async () => {
    const workerShell = await factory.connect(targetOf(worker));
    const engine = createDockerApi({ kind: 'ssh', shell: workerShell, socketPath: '/var/run/docker.sock' });
    try {
      const info = await engine.info();
      expect(info).toMatchObject({
        hostname: worker.name,
        controlAvailable: false,
        localNodeState: 'active',
      });
      const containers = await engine.listContainers();
      expect(Array.isArray(containers)).toBe(true);
    } finally {
      await engine.close();
      await workerShell.close();
    }
  });

  it('talks to an engine on a local unix socket too', async () => {
    const local = createDockerApi({ kind: 'unix', socketPath: manager.dockerSocket });
    expect((await local.info()).hostname).toBe(manager.name);
    await local.close();
  });
});
