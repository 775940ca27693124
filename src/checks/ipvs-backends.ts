import type { NodeShell } from '../transport/types.js';
import { parseIpvs } from './ingress.js';

const SBOX = '/var/run/docker/netns/ingress_sbox';

/** What a node's routing mesh sends traffic to right now. */
export type IngressBackends =
  /** The kernel has no IPVS (or no ipvsadm): this node has no routing mesh to wait for. */
  | { kind: 'no-mesh'; why: string }
  /** IPVS exists, but the engine has not built its ingress sandbox (yet). */
  | { kind: 'no-sandbox' }
  | { kind: 'backends'; ips: Set<string> };

const SCRIPT = [
  `if [ ! -e /proc/net/ip_vs ]; then echo @@no-mesh kernel has no IPVS`,
  `elif ! command -v ipvsadm >/dev/null 2>&1; then echo @@no-mesh ipvsadm not installed`,
  `elif [ ! -e ${SBOX} ]; then echo @@no-sandbox`,
  `else nsenter --net=${SBOX} ipvsadm -Ln; fi`,
].join('; ');

/** The backend addresses of every IPVS service in the node's ingress sandbox, in one exec. */
export async function readIngressBackends(
  shell: NodeShell,
  options: { sudo: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<IngressBackends> {
  const result = await shell.exec(SCRIPT, {
    sudo: options.sudo,
    timeoutMs: options.timeoutMs,
    display: 'read IPVS backends in ingress_sbox',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const out = result.stdout.trim();
  if (out.startsWith('@@no-mesh')) return { kind: 'no-mesh', why: out.slice('@@no-mesh '.length) };
  if (out.startsWith('@@no-sandbox')) return { kind: 'no-sandbox' };
  if (result.exitCode !== 0) {
    throw new Error(`reading IPVS on ${shell.node} failed: ${(result.stderr || out).trim().slice(0, 200)}`);
  }
  return { kind: 'backends', ips: backendIps(out) };
}

/** `  -> 10.0.0.5:0  Masq 1 0 0` → `10.0.0.5`, for every backend of every virtual service. */
export function backendIps(ipvsText: string): Set<string> {
  return new Set(parseIpvs(ipvsText).flatMap((v) => v.backends.map((b) => b.replace(/:\d+$/, ''))));
}

/** A task's attachment addresses (`10.0.0.5/24`) as bare IPs. */
export function taskIps(addresses: string[]): string[] {
  return addresses.map((a) => a.replace(/\/\d+$/, ''));
}
