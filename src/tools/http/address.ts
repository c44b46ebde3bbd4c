/**
 * Which addresses the gateway may connect to (SEC-UP-05, U-08…U-10), decided on the address in
 * binary form (node:net BlockList), never on URL text: `0x7f000001`, `127.1` and
 * `::ffff:169.254.169.254` are the same addresses as their plain spellings, and an IPv4 rule
 * also covers the IPv4-mapped IPv6 form.
 *
 * - `forbidden`: never a legitimate upstream, whatever the config says: unspecified, link-local
 *   (cloud metadata 169.254.169.254, fd00:ec2::254), multicast, broadcast and reserved ranges,
 *   documentation ranges, and IPv6 forms that tunnel to an IPv4 address the check cannot see.
 * - `private`: loopback, RFC 1918, CGNAT, ULA, benchmarking: allowed only for an upstream with
 *   `allowPrivateNetwork: true` (a loopback service in dev, a service on the internal network).
 * - `public`: everything else.
 */
import { BlockList, isIP } from 'node:net';

export type AddressClass = 'public' | 'private' | 'forbidden';

const FORBIDDEN_V4: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network", includes 0.0.0.0
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255
];
const PRIVATE_V4: readonly [string, number][] = [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
];
const FORBIDDEN_V6: readonly [string, number][] = [
  ['::', 96], // unspecified and IPv4-compatible (deprecated), ::1 excepted below
  ['64:ff9b::', 96], // NAT64: the IPv4 address inside is not checked
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, includes Teredo 2001::/32
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['fd00:ec2::254', 128], // AWS metadata over IPv6 (inside the ULA range, so checked first)
];
const PRIVATE_V6: readonly [string, number][] = [
  ['::1', 128],
  ['fc00::', 7], // unique local
];

function list(v4: readonly [string, number][], v6: readonly [string, number][]): BlockList {
  const b = new BlockList();
  for (const [a, p] of v4) b.addSubnet(a, p, 'ipv4');
  for (const [a, p] of v6) b.addSubnet(a, p, 'ipv6');
  return b;
}

const forbidden = list(FORBIDDEN_V4, FORBIDDEN_V6);
const privateNets = list(PRIVATE_V4, PRIVATE_V6);
const loopbackV6 = list([], [['::1', 128]]);

/** Classifies an IP address literal; anything that is not one (or carries a zone id) is forbidden. */
export function classifyAddress(address: string): AddressClass {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(ip);
  if (family === 0 || ip.includes('%')) return 'forbidden';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6' && loopbackV6.check(ip, 'ipv6')) return 'private';
  if (forbidden.check(ip, type)) return 'forbidden';
  if (privateNets.check(ip, type)) return 'private';
  return 'public';
}

/** May an upstream with this policy connect to `address`? */
export function addressAllowed(address: string, allowPrivateNetwork: boolean): boolean {
  const c = classifyAddress(address);
  return c === 'public' || (c === 'private' && allowPrivateNetwork);
}
