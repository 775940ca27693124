/** IPv4 prefixes: enough to tell whether a route and a subnet share addresses. */
export interface Ipv4Prefix {
  base: number;
  bits: number;
}

/** `10.0.0.0/8`, or a bare address (a host route, /32); undefined for IPv6 or anything else. */
export function parseIpv4Prefix(text: string): Ipv4Prefix | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const bits = match[5] === undefined ? 32 : Number(match[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { base: address - (address % 2 ** (32 - bits)), bits };
}

/** Two prefixes overlap when the shorter one contains the other's network address. */
export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const bits = Math.min(a.bits, b.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(a.base / size) === Math.floor(b.base / size);
}

/** True when both texts are IPv4 prefixes that share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const pa = parseIpv4Prefix(a);
  const pb = parseIpv4Prefix(b);
  return pa !== undefined && pb !== undefined && prefixesOverlap(pa, pb);
}
