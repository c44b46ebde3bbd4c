/**
 * Egress to REST upstreams (SEC-UP-05): one undici Agent per upstream whose connector enforces,
 * on every new connection,
 *   - the host allow-list: the upstream's own host, exact compare (U-13);
 *   - the address actually connected to: every DNS answer is checked in binary form and the
 *     socket is opened only to the checked addresses (pinned: no second resolution, U-10);
 *     IP literals are checked before connecting; the peer address is checked again once
 *     connected (U-08, U-09);
 *   - plain http only to a loopback/private address (the config also needs allowInsecureHttp);
 *   - TLS verification (never switched off; an extra CA may be trusted, U-22);
 *   - the connect timeout, and headers/body timeouts equal to the upstream's total timeout.
 * Redirects are never followed: undici's Agent does not, and 3xx answers become failures.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { ErrorCodes, PortcullisError } from '../../errors.js';
import { addressAllowed, classifyAddress } from './address.js';

/** A connection the egress policy refused; `reason` goes to the audit. */
export class EgressRefused extends Error {
  override readonly name = 'EgressRefused';
  readonly code = 'PORTCULLIS_EGRESS_REFUSED';
  constructor(readonly reason: 'upstream_host_not_allowed' | 'upstream_blocked_address') {
    super(reason === 'upstream_host_not_allowed' ? 'host not allowed' : 'destination address not allowed');
  }
}

export interface EgressPolicy {
  /** Host names (lower case, IPv6 without brackets) this agent may connect to. */
  readonly hosts: readonly string[];
  readonly allowPrivateNetwork: boolean;
  readonly connectTimeoutMs: number;
  /** Headers and body timeouts (the request's own total deadline also applies). */
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxConcurrent: number;
  /** PEM file of an extra CA to trust (verification stays on). */
  readonly caFile?: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Creates an Agent that connects only where the policy allows. */
export function createEgressAgent(policy: EgressPolicy): Agent {
  const hosts = new Set(policy.hosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  let ca: string | undefined;
  if (policy.caFile !== undefined) {
    try {
      ca = readFileSync(policy.caFile, 'utf8');
    } catch (err) {
      throw new PortcullisError(ErrorCodes.TLS_LOAD, `cannot read the upstream CA file ${policy.caFile}`, [], {
        cause: err,
      });
    }
  }
  const allowed = (address: string, plainHttp: boolean): boolean =>
    plainHttp ? classifyAddress(address) === 'private' : addressAllowed(address, policy.allowPrivateNetwork);

  const checkedLookup =
    (plainHttp: boolean) =>
    (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        // Every candidate must pass: a name that also resolves somewhere private is refused outright.
        if (addresses.length === 0 || addresses.some((a) => !allowed(a.address, plainHttp))) {
          return callback(new EgressRefused('upstream_blocked_address'), []);
        }
        if (options.all) return callback(null, addresses);
        const first = addresses[0] as LookupAddress;
        callback(null, first.address, first.family);
      });
    };

  const common = { timeout: policy.connectTimeoutMs, ...(ca !== undefined && { ca }) };
  const httpsConnect = buildConnector({ ...common, lookup: checkedLookup(false), rejectUnauthorized: true });
  const httpConnect = buildConnector({ ...common, lookup: checkedLookup(true) });

  const connect: buildConnector.connector = (opts, callback) => {
    const plainHttp = opts.protocol !== 'https:';
    const host = opts.hostname.toLowerCase();
    if (!hosts.has(host)) return callback(new EgressRefused('upstream_host_not_allowed'), null);
    if (isIP(host) !== 0 && !allowed(host, plainHttp)) {
      return callback(new EgressRefused('upstream_blocked_address'), null);
    }
    const base = plainHttp ? httpConnect : httpsConnect;
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      // Defence in depth: the peer actually connected to, whatever resolved it.
      const peer = socket.remoteAddress;
      if (peer === undefined || !allowed(peer, plainHttp)) {
        socket.destroy();
        return callback(new EgressRefused('upstream_blocked_address'), null);
      }
      callback(null, socket);
    });
  };

  return new Agent({
    connect,
    connections: policy.maxConcurrent,
    headersTimeout: policy.timeoutMs,
    bodyTimeout: policy.timeoutMs,
    maxResponseSize: policy.maxResponseBytes,
  });
}
