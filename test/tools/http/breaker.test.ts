/** The per-upstream circuit breaker on a fake clock: opens after N faults, probes once, closes on success. */
import { describe, expect, it } from 'vitest';
import { createBreaker, isUpstreamFault } from '../../../src/tools/http/breaker.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('circuit breaker', () => {
  it('opens after `failures` consecutive faults; an answer in between resets the count', () => {
    const clock = fakeClock();
    const b = createBreaker({ failures: 3, cooldownMs: 1000, now: clock.now });
    b.record(true);
    b.record(true);
    b.record(false);
    b.record(true);
    b.record(true);
    expect(b.allow()).toBe(true);
    b.record(true);
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
  });

  it('lets exactly one probe through after the cooldown; its fault reopens, its success closes', () => {
    const clock = fakeClock();
    const b = createBreaker({ failures: 1, cooldownMs: 1000, now: clock.now });
    b.record(true);
    clock.advance(999);
    expect(b.allow()).toBe(false);
    clock.advance(1);
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // the probe is out
    b.record(true);
    expect(b.state).toBe('open');
    clock.advance(1000);
    expect(b.allow()).toBe(true);
    b.record(false);
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('a probe without a verdict (caller gone) frees the slot without closing', () => {
    const clock = fakeClock();
    const b = createBreaker({ failures: 1, cooldownMs: 10, now: clock.now });
    b.record(true);
    clock.advance(10);
    expect(b.allow()).toBe(true);
    b.record(undefined);
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true);
  });

  it('counts only what the upstream did: no connection, timeouts, 5xx', () => {
    for (const r of ['upstream_timeout', 'upstream_connect_timeout', 'upstream_unreachable', 'upstream_status_503'])
      expect(isUpstreamFault(r), r).toBe(true);
    for (const r of [
      undefined,
      'upstream_status_404',
      'upstream_too_large',
      'upstream_blocked_address',
      'upstream_tls',
    ])
      expect(isUpstreamFault(r), String(r)).toBe(false);
  });
});
