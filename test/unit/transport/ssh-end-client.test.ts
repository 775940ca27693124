import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { endClient } from '../../../src/transport/ssh-connect.js';

/** An ssh2 client stand-in: `end()` closes only if the peer answers. */
class FakeClient extends EventEmitter {
  destroyed = false;
  constructor(private readonly peerAnswers: boolean) {
    super();
  }
  end() {
    if (this.peerAnswers) setImmediate(() => this.emit('close'));
    return this;
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
}

describe('endClient', () => {
  it('ends a connection whose peer answers without destroying it', async () => {
    const client = new FakeClient(true);
    await endClient(client as never, 50);
    expect(client.destroyed).toBe(false);
  });

  it('destroys the socket of a peer that never answers the goodbye, so nothing keeps the process alive', async () => {
    const client = new FakeClient(false);
    await endClient(client as never, 50);
    expect(client.destroyed).toBe(true);
  });
});
