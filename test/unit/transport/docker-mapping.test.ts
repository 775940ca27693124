import { describe, expect, it } from 'vitest';
import { mapService, mapTask } from '../../../src/transport/docker-mapping.js';

/** A service as `GET /services` returns it, trimmed to what the mapping reads. */
function rawService(containerSpec: Record<string, unknown>, placement: Record<string, unknown> = {}) {
  return {
    ID: 'svc1',
    Version: { Index: 7 },
    Spec: {
      Name: 'web',
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { Image: 'busybox', ...containerSpec }, Placement: placement },
    },
  };
}

describe('mapService: the facts traffic warnings need', () => {
  it('reads a healthcheck, the stop grace period (ns) and max replicas per node', () => {
    const s = mapService(
      rawService(
        { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1e9 }, StopGracePeriod: 1_000_000_000 },
        { MaxReplicas: 1, Constraints: ['node.role==worker'] },
      ),
    );
    expect(s).toMatchObject({
      healthcheck: 'defined',
      stopGracePeriodMs: 1000,
      maxReplicasPerNode: 1,
      constraints: ['node.role==worker'],
    });
  });

  it('says not-in-spec without a Test, disabled for NONE, 10 s grace and no limit by default', () => {
    const plain = mapService(rawService({}, { MaxReplicas: 0 }));
    expect(plain.healthcheck).toBe('not-in-spec');
    expect(plain.stopGracePeriodMs).toBe(10_000);
    expect(plain).not.toHaveProperty('maxReplicasPerNode');
    expect(mapService(rawService({ Healthcheck: { Test: [] } })).healthcheck).toBe('not-in-spec');
    expect(mapService(rawService({ Healthcheck: { Test: ['NONE'] } })).healthcheck).toBe('disabled');
  });
});

describe('mapTask', () => {
  it('keeps the ingress network addresses apart: the routing mesh balances over those only', () => {
    const task = mapTask({
      ID: 't1',
      ServiceID: 's1',
      Status: { State: 'running', Timestamp: '2026-12-02T00:00:00Z' },
      DesiredState: 'running',
      NetworksAttachments: [
        { Network: { Spec: { Name: 'ingress', Ingress: true } }, Addresses: ['10.0.0.7/24'] },
        { Network: { Spec: { Name: 'backend' } }, Addresses: ['10.0.5.3/24'] },
      ],
    });
    expect(task.addresses).toEqual(['10.0.0.7/24', '10.0.5.3/24']);
    expect(task.ingressAddresses).toEqual(['10.0.0.7/24']);
  });
});
