/** Rate limits: GCRA per key, atomic across keys, never keyed on sessions or tokens. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { principalKey } from '../../src/auth/principal.js';
import type { Principal } from '../../src/auth/principal.js';
import type { LimitsConfig, ToolConfig } from '../../src/config/types.js';
import { Limiter } from '../../src/limits/limiter.js';
import { MemoryRateLimitStore } from '../../src/limits/store.js';

const rate = (requests: number, windowSec = 60, burst = requests) => ({ requests, windowSec, burst });
const config: LimitsConfig = {
  perIp: rate(5),
  perPrincipal: rate(3),
  perTenant: rate(5),
  perTool: rate(100),
  perPrincipalTool: rate(2),
  notificationsPerPrincipal: rate(2),
  concurrentPerPrincipal: 2,
  concurrentPerSession: 1,
};
const p = (user: string, tenant = 'acme'): Principal => ({
  issuer: 'urn:test',
  user,
  tenant,
  roles: [],
  scopes: new Set(),
  expiresAt: 0,
  key: principalKey('urn:test', user, tenant),
});
const tool = { name: 'search' } as ToolConfig;
let clock = 1_000_000;
const stores: MemoryRateLimitStore[] = [];
function limiter(c: LimitsConfig = config): Limiter {
  const store = new MemoryRateLimitStore();
  stores.push(store);
  return new Limiter(c, store, () => clock);
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('Limiter', () => {
  it('limits a principal, tells when to retry, and lets it resume after the window', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) expect(l.request(p('alice'))).toEqual({ ok: true });
    expect(l.request(p('alice'))).toEqual({ ok: false, scope: 'principal', retryAfterSec: 20 });
    expect(l.request(p('bob'))).toEqual({ ok: true });
    clock += 20_000;
    expect(l.request(p('alice'))).toEqual({ ok: true });
    expect(l.request(p('alice'))).toMatchObject({ ok: false });
  });

  it('shares a tenant budget between its principals', () => {
    const l = limiter({ ...config, perPrincipal: rate(100) });
    for (let i = 0; i < 5; i++) expect(l.request(p(`u${i}`))).toEqual({ ok: true });
    expect(l.request(p('u9'))).toMatchObject({ ok: false, scope: 'tenant' });
    expect(l.request(p('x', 'globex'))).toEqual({ ok: true });
  });

  it('charges nothing when any key is full (atomic)', () => {
    const l = limiter({ ...config, perPrincipal: rate(100), perTenant: rate(1) });
    expect(l.request(p('alice'))).toEqual({ ok: true });
    expect(l.request(p('alice'))).toMatchObject({ ok: false, scope: 'tenant' });
    clock += 60_000;
    // alice's own bucket was not charged by the refused request.
    expect(l.request(p('alice'))).toEqual({ ok: true });
  });

  it('limits one principal on one tool, and honours a tool override', () => {
    const l = limiter();
    expect(l.tool(p('alice'), tool)).toEqual({ ok: true });
    expect(l.tool(p('alice'), tool)).toEqual({ ok: true });
    expect(l.tool(p('alice'), tool)).toMatchObject({ ok: false, scope: 'principal_tool' });
    const generous = { name: 'lookup', rateLimit: rate(10) } as ToolConfig;
    for (let i = 0; i < 10; i++) expect(l.tool(p('alice'), generous)).toEqual({ ok: true });
    expect(l.tool(p('alice'), generous)).toMatchObject({ ok: false, scope: 'principal_tool' });
    expect(l.tool(p('bob'), tool)).toEqual({ ok: true });
  });

  it('keys on the principal, so the same user in another tenant is another principal', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) void l.request(p('alice'));
    expect(l.request(p('alice', 'globex'))).toEqual({ ok: true });
  });

  it('caps calls in flight per principal and per session, and releases them', () => {
    const l = limiter();
    const r1 = l.acquire(p('alice'), 's1');
    expect(r1).toBeDefined();
    expect(l.acquire(p('alice'), 's1')).toBeUndefined();
    const r2 = l.acquire(p('alice'), 's2');
    expect(r2).toBeDefined();
    expect(l.acquire(p('alice'), undefined)).toBeUndefined();
    r1!();
    r1!();
    expect(l.acquire(p('alice'), undefined)).toBeDefined();
  });

  it('keeps a separate budget for notifications', () => {
    const l = limiter();
    expect(l.notification(p('alice'))).toEqual({ ok: true });
    expect(l.notification(p('alice'))).toEqual({ ok: true });
    expect(l.notification(p('alice'))).toMatchObject({ ok: false, scope: 'notifications' });
    expect(l.request(p('alice'))).toEqual({ ok: true });
  });

  it('forgets keys whose budget has fully recovered', () => {
    const store = new MemoryRateLimitStore();
    stores.push(store);
    const l = new Limiter(config, store, () => clock);
    for (let i = 0; i < 1000; i++) void l.ip(`10.0.${i >> 8}.${i & 255}`);
    expect(store.size).toBe(1000);
    clock += 61_000;
    store.sweep(clock);
    expect(store.size).toBe(0);
  });

  it('sweeps by the clock it is charged with, not the wall clock', async () => {
    const store = new MemoryRateLimitStore({ sweepEveryMs: 20 });
    stores.push(store);
    // A test clock far behind the wall clock: a wall-clock sweep would drop these live keys.
    const l = new Limiter(config, store, () => 1000);
    expect(l.request(p('alice'))).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(store.size).toBe(2);
  });

  it('by default runs on a monotonic clock: stepping the system clock back an hour refuses nothing', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now());
      const store = new MemoryRateLimitStore();
      stores.push(store);
      const l = new Limiter(config, store);
      expect(l.request(p('alice'))).toEqual({ ok: true });
      // An NTP correction: with wall-clock time, alice's TAT would now be an hour in the future.
      vi.setSystemTime(Date.now() - 3_600_000);
      expect(l.request(p('alice'))).toEqual({ ok: true });
      expect(l.request(p('alice'))).toEqual({ ok: true });
      expect(l.request(p('alice'))).toMatchObject({ ok: false, scope: 'principal' });
    } finally {
      vi.useRealTimers();
    }
  });
});
