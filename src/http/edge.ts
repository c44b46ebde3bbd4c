/**
 * DNS-rebinding defences (SEC-SES-06, MCP transports "Security Warning"): the `Host` header must
 * name an allowed host, and an `Origin`, when present, must exactly match an allowed origin.
 * `Origin: null` and several `Origin` values are refused. Absent `Origin` (non-browser clients)
 * passes on to authentication.
 */
import type { IncomingMessage } from 'node:http';
import { hostnameOf } from '../config/hosts.js';

export interface EdgePolicy {
  readonly allowedHosts: ReadonlySet<string>;
  readonly allowedOrigins: ReadonlySet<string>;
}

export function createEdgePolicy(allowedHosts: readonly string[], allowedOrigins: readonly string[]): EdgePolicy {
  return {
    allowedHosts: new Set(allowedHosts.map((h) => h.toLowerCase())),
    allowedOrigins: new Set(allowedOrigins.map((o) => o.toLowerCase())),
  };
}

export type EdgeDecision = { ok: true } | { ok: false; reason: 'host_not_allowed' | 'origin_not_allowed' };

export function checkEdge(req: IncomingMessage, policy: EdgePolicy): EdgeDecision {
  const hosts = req.headersDistinct.host;
  if (!hosts || hosts.length !== 1 || !policy.allowedHosts.has(hostnameOf(hosts[0] ?? ''))) {
    return { ok: false, reason: 'host_not_allowed' };
  }
  const origins = req.headersDistinct.origin;
  if (origins !== undefined) {
    if (origins.length !== 1 || !policy.allowedOrigins.has((origins[0] ?? '').toLowerCase())) {
      return { ok: false, reason: 'origin_not_allowed' };
    }
  }
  return { ok: true };
}
