import { request } from 'node:http';
import { connect } from 'node:net';

/** The outcome of probing one address:port from the drydock host. */
export interface ProbeResult {
  ok: boolean;
  /** HTTP status when a path was requested. */
  status?: number;
  error?: string;
  durationMs: number;
}

/** Probes ports from the drydock host; a port so tests can fake the network. */
export interface PortProber {
  tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  http(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult>;
}

/** TCP connect and HTTP GET with node:net / node:http. */
export const netProber: PortProber = {
  tcp: (host, port, timeoutMs) =>
    new Promise((resolve) => {
      const startedAt = Date.now();
      const socket = connect({ host, port });
      const done = (ok: boolean, error?: string) => {
        socket.destroy();
        resolve({ ok, ...(error ? { error } : {}), durationMs: Date.now() - startedAt });
      };
      socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs}ms`));
      socket.once('connect', () => done(true));
      socket.once('error', (error) => done(false, error.message));
    }),
  http: (host, port, path, timeoutMs) =>
    new Promise((resolve) => {
      const startedAt = Date.now();
      const req = request({ host, port, path, method: 'GET', timeout: timeoutMs }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 400,
          status,
          ...(status >= 400 ? { error: `HTTP ${status}` } : {}),
          durationMs: Date.now() - startedAt,
        });
      });
      req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
      req.once('error', (error) =>
        resolve({ ok: false, error: error.message, durationMs: Date.now() - startedAt }),
      );
      req.end();
    }),
};
