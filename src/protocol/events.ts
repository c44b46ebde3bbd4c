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
