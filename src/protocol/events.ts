/** Audit and metrics for session and principal events, shared by the transports. */
import type { Principal } from '../auth/principal.js';
import type { Session } from '../session/registry.js';
import type { AuthedRequest, TransportDeps } from './context.js';

/** The principal's fields of an audit event. */
export function principalFields(p: Principal): {
  issuer: string;
  user: string;
  tenant: string;
  roles: readonly string[];
} {
  return { issuer: p.issuer, user: p.user, tenant: p.tenant, roles: p.roles };
}

export function sessionOpened(a: AuthedRequest, session: Session, deps: TransportDeps): void {
  deps.metrics.sessionOpened(session.era);
  deps.audit.record({
    event: 'session.opened',
    requestId: a.requestId,
    sessionId: session.id,
    ip: a.ip,
    transport: session.era,
    ...principalFields(a.principal),
  });
}

/** A session refused at a cap (answered 429 by the caller). */
export function sessionRefused(a: AuthedRequest, reason: string, deps: TransportDeps): void {
  deps.metrics.rateLimited('sessions');
  deps.audit.record({
    event: 'rate.limited',
    requestId: a.requestId,
    ip: a.ip,
    reason,
    ...principalFields(a.principal),
  });
}

/** A live session id presented by a principal who does not own it (answered like an unknown id). */
export function ownerMismatch(a: AuthedRequest, deps: TransportDeps): void {
  deps.audit.record({
    event: 'session.owner_mismatch',
    requestId: a.requestId,
    ip: a.ip,
    reason: 'session_owner_mismatch',
    ...principalFields(a.principal),
  });
}
