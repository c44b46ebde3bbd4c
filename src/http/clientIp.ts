/**
 * The client address for per-IP limits and the audit (SEC-RL-02, D-08): the socket peer, unless
 * the peer is a configured trusted proxy; then `X-Forwarded-For` is read from the right, skipping
 * trusted hops, and the first untrusted address is the client. The left-most value — the one a
 * client can write — is never taken on trust.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export interface ProxyTrust {
  trusts(address: string): boolean;
}

/** Builds the trust list from addresses and CIDRs (`10.0.0.0/8`, `::1`). Throws on a malformed entry. */
export function createProxyTrust(entries: readonly string[]): ProxyTrust {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr = '', prefix] = entry.split('/');
    const family = isIP(addr);
    if (family === 0) throw new Error(`not an IP address or CIDR: ${entry}`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(prefix), type);
  }
  const empty = entries.length === 0;
  return {
    trusts: (address) => {
      if (empty) return false;
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function clientIp(req: IncomingMessage, trust: ProxyTrust): string {
  const peer = normaliseAddress(req.socket.remoteAddress ?? '');
  if (!trust.trusts(peer)) return peer;
  const forwarded = req.headersDistinct['x-forwarded-for'];
  if (!forwarded) return peer;
  const hops = forwarded
    .join(',')
    .split(',')
    .map((h) => normaliseAddress(h.trim()));
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? '';
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trust.trusts(hop)) break;
  }
  return client;
}
