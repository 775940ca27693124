import { describe, expect, it } from 'vitest';
import { overlayDnsCheck, parseNslookup } from '../../../src/checks/dns.js';
import { makeCtx } from '../../support/check-context.js';
import { FakeShell } from '../../support/fake-cluster.js';
import { FakeSwarm, node, service, task } from '../../support/fake-swarm.js';

const busybox = (name: string, ips: string[]) =>
  `Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nNon-authoritative answer:\nName:\t${name}\n${ips.map((ip) => `Address: ${ip}`).join('\n')}\n\n*** Can't find ${name}: No answer\n`;

describe('parseNslookup', () => {
  it('returns the answers, not the server', () => {
    expect(parseNslookup(busybox('tasks.web', ['10.0.1.4', '10.0.1.3']))).toEqual(['10.0.1.3', '10.0.1.4']);
    expect(
      parseNslookup("Server: 127.0.0.11\nAddress: 127.0.0.11:53\n\n** server can't find tasks.x: NXDOMAIN\n"),
    ).toEqual([]);
  });
});

describe('overlay-dns', () => {
  function setup(answer: Record<string, string[]>) {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    const web = service('web', {
      networks: ['net1'],
      virtualIps: [{ networkId: 'net1', addr: '10.0.1.2/24' }],
    });
    swarm.services = [web];
    swarm.tasks = [task(web, swarm.nodes[0]!, { containerId: 'c1' })];
    swarm.networks = {
      net1: {
        id: 'net1',
        name: 'appnet',
        driver: 'overlay',
        scope: 'swarm',
        ingress: false,
        peers: [],
        services: {
          web: {
            vip: '10.0.1.2',
            tasks: [
              { name: 'web.1', endpointIp: '10.0.1.3' },
              { name: 'web.2', endpointIp: '10.0.1.4' },
            ],
          },
        },
      },
    };
    const shell = new FakeShell('node1', (cmd) => ({
      stdout: [...cmd.matchAll(/nslookup '?([^' ;&]+)'?/g)]
        .map((m) => `@@DDX-DNS ${m[1]}\n${busybox(m[1]!, answer[m[1]!] ?? [])}`)
        .join(''),
    }));
    return { swarm, shell };
  }

  it('passes when tasks.<svc> and the VIP resolve as the network says, in one exec', async () => {
    const { swarm, shell } = setup({ 'tasks.web': ['10.0.1.3', '10.0.1.4'], web: ['10.0.1.2'] });
    const [r] = await overlayDnsCheck.run(makeCtx({ swarm, shellOf: async () => shell }), {
      timeoutMs: 0,
      services: [],
    });
    expect(r).toMatchObject({ status: 'pass', node: 'node1' });
    expect(shell.commands).toHaveLength(1);
    expect(shell.commands[0]).toContain(`docker exec c1 nslookup tasks.web`);
  });

  it('fails with expected vs resolved when DNS is stale', async () => {
    const { swarm, shell } = setup({ 'tasks.web': ['10.0.1.3'], web: ['10.0.1.2'] });
    const [r] = await overlayDnsCheck.run(makeCtx({ swarm, shellOf: async () => shell }), {
      timeoutMs: 2000,
      services: [],
    });
    expect(r).toMatchObject({
      status: 'fail',
      message: 'tasks.web → [10.0.1.3], expected [10.0.1.3, 10.0.1.4]',
    });
  });

  it('is not-applicable without an overlay task on the node', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    const [r] = await overlayDnsCheck.run(makeCtx({ swarm }), { timeoutMs: 0, services: [] });
    expect(r).toMatchObject({
      status: 'not-applicable',
      message: 'no running task container on an overlay network on this node',
    });
  });
});
