/** Sessions: bound to their principal, capped, expired, and fully released on close. */
import { afterEach, describe, expect, it } from 'vitest';
import { principalKey } from '../../src/auth/principal.js';
import type { Principal } from '../../src/auth/principal.js';
import { SessionRegistry, isWellFormedSessionId } from '../../src/session/registry.js';

const principal = (user: string, tenant = 'acme', issuer = 'urn:test'): Principal => ({
  issuer,
  user,
  tenant,
  roles: ['user'],
  scopes: new Set(),
  expiresAt: 0,
  key: principalKey(issuer, user, tenant),
});
const config = {
  idleTimeoutSec: 60,
  absoluteTimeoutSec: 3600,
  maxPerPrincipal: 2,
  maxTotal: 3,
  maxStreamsPerSession: 1,
};
let clock = 1_000_000;
const registries: SessionRegistry[] = [];
const registry = () => {
  const r = new SessionRegistry({ config, now: () => clock });
  registries.push(r);
  return r;
};
afterEach(() => registries.splice(0).forEach((r) => r.closeAll()));

describe('SessionRegistry', () => {
  it('S-09 mints 256-bit ids of visible ASCII, all distinct', () => {
    const r = new SessionRegistry({ config: { ...config, maxPerPrincipal: 10_000, maxTotal: 10_000 } });
    registries.push(r);
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const o = r.open(principal('alice'), 'streamable', '2025-11-25', {});
      if (!o.ok) throw new Error('open failed');
      expect(isWellFormedSessionId(o.session.id)).toBe(true);
      expect(o.session.id).toMatch(/^[\x21-\x7e]{43}$/);
      ids.add(o.session.id);
    }
    expect(ids.size).toBe(2000);
  });

  it('S-01/S-04 answers another principal, or the same user in another tenant, exactly like an unknown id', () => {
    const r = registry();
    const o = r.open(principal('alice'), 'streamable', '2025-11-25', {});
    if (!o.ok) throw new Error();
    expect(r.get(o.session.id, principal('bob'), 'streamable')).toBeUndefined();
    expect(r.get(o.session.id, principal('alice', 'globex'), 'streamable')).toBeUndefined();
    expect(r.get(o.session.id, principal('alice', 'acme', 'urn:other'), 'streamable')).toBeUndefined();
    expect(r.get(o.session.id, principal('alice'), 'sse')).toBeUndefined();
    expect(r.get(o.session.id, principal('alice'), 'streamable')).toBe(o.session);
  });

  it('caps sessions per principal and in total', () => {
    const r = registry();
    expect(r.open(principal('alice'), 'streamable', 'v', {}).ok).toBe(true);
    expect(r.open(principal('alice'), 'streamable', 'v', {}).ok).toBe(true);
    expect(r.open(principal('alice'), 'streamable', 'v', {})).toMatchObject({
      ok: false,
      reason: 'principal_session_cap',
    });
    expect(r.open(principal('bob'), 'streamable', 'v', {}).ok).toBe(true);
    expect(r.open(principal('carol'), 'streamable', 'v', {})).toMatchObject({ ok: false, reason: 'session_cap' });
  });

  it('expires idle sessions and releases their slot and resources', () => {
    const r = registry();
    const o = r.open(principal('alice'), 'streamable', 'v', {});
    if (!o.ok) throw new Error();
    clock += 61_000;
    expect(r.get(o.session.id, principal('alice'), 'streamable')).toBeUndefined();
    expect(o.session.abort.signal.aborted).toBe(true);
    expect(r.size).toBe(0);
    expect(r.countFor(principal('alice').key)).toBe(0);
  });

  it('sweeps expired sessions it was never asked about', () => {
    const r = registry();
    r.open(principal('alice'), 'streamable', 'v', {});
    clock += 61_000;
    r.sweep();
    expect(r.size).toBe(0);
  });

  it('releases everything on close, once', () => {
    const closed: string[] = [];
    const r = new SessionRegistry({ config, now: () => clock, onClose: (_s, why) => closed.push(why) });
    registries.push(r);
    const o = r.open(principal('alice'), 'streamable', 'v', {});
    if (!o.ok) throw new Error();
    o.session.inflight.add(1);
    r.close(o.session, 'deleted');
    r.close(o.session, 'deleted');
    expect(closed).toEqual(['deleted']);
    expect(o.session.inflight.size).toBe(0);
    expect(r.get(o.session.id, principal('alice'), 'streamable')).toBeUndefined();
  });

  it('S-08 rejects malformed ids before any lookup', () => {
    expect(isWellFormedSessionId('a b')).toBe(false);
    expect(isWellFormedSessionId('x'.repeat(10_000))).toBe(false);
    expect(isWellFormedSessionId('a'.repeat(42) + '\n')).toBe(false);
  });
});
