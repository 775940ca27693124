import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, EngineNotAnsweringError } from '../../../src/errors.js';
import { withDeadline } from '../../../src/shared/deadline.js';
import { createDockerApi } from '../../../src/transport/docker.js';

/**
 * An engine that takes every request and never answers (a frozen dockerd), as a real HTTP server
 * on 127.0.0.1: a call ends at its wait's deadline as "does not answer", and at once, as a
 * cancellation, when the wait is cancelled (the operator's second Ctrl-C).
 */
let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function frozenEngine() {
  return createDockerApi(
    { kind: 'tcp', host: '127.0.0.1', port },
    { node: 'node1', requestTimeoutMs: 600_000 },
  );
}

describe('Docker calls to an engine that never answers', () => {
  it("end at the wait's deadline, naming the node and the request", async () => {
    const error = await withDeadline(1500, () => frozenEngine().ping()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineNotAnsweringError);
    expect((error as Error).message).toMatch(/^node1's engine does not answer \(waited \d+s for ping/);
  });

  it('end when the wait is cancelled, long before its deadline, as a cancellation', async () => {
    const cancel = new AbortController();
    const call = withDeadline(600_000, () => frozenEngine().ping(), cancel.signal).catch((e: unknown) => e);
    setTimeout(() => cancel.abort(), 200);
    const error = await call;
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ code: 'DRYDOCK_CANCELLED' });
    expect((error as Error).message).toMatch(/ping on .*: cancelled$/);
  });
});
