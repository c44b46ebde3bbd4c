/** The hash chain: verification and the first broken link (SEC-AUD-04, O-13). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical.js';
import {
  GENESIS_HASH,
  GENESIS_HEAD,
  canonicalEventJson,
  hashEvent,
  headAfter,
  sealEvent,
  verifyChain,
} from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { callInput } from './helpers.js';

function chainOf(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let head = GENESIS_HEAD;
  for (let i = 1; i <= n; i++) {
    const event = chainEvent(describeEvent(callInput(i), 'inst', Date.UTC(2026, 10, 24, 8, 0, i)), head);
    events.push(event);
    head = headAfter(event);
  }
  return events;
}

describe('the hash chain', () => {
  it('starts at seq 1 from 64 zeros and links every event to the previous hash', () => {
    const events = chainOf(3);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events[0]!.prevHash).toBe(GENESIS_HASH);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(events[2]!.hash).toBe(hashEvent(events[2]!));
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 3, head: { lastSeq: 3, lastHash: events[2]!.hash } });
  });

  it('an empty chain verifies', () => {
    expect(verifyChain([])).toEqual({ ok: true, count: 0, head: GENESIS_HEAD });
  });

  it('an edited field is a hash mismatch at that event', () => {
    const events = chainOf(5);
    events[2] = { ...events[2]!, user: 'mallory' };
    expect(verifyChain(events)).toMatchObject({
      ok: false,
      seq: 3,
      id: events[2].id,
      reason: 'hash_mismatch',
      count: 2,
    });
  });

  it('an edit with its hash recomputed breaks the link of the next event', () => {
    const events = chainOf(5);
    const { hash: _h, ...rest } = { ...events[1]!, outcome: 'denied' as const };
    events[1] = sealEvent(rest);
    expect(verifyChain(events)).toMatchObject({ ok: false, seq: 3, reason: 'broken_link' });
  });

  it('a deleted event is a gap at the event after it; a deleted first event too', () => {
    const events = chainOf(5);
    expect(verifyChain([...events.slice(0, 2), ...events.slice(3)])).toMatchObject({
      ok: false,
      seq: 4,
      reason: 'gap',
      detail: 'expected seq 3, found seq 4',
    });
    expect(verifyChain(events.slice(1))).toMatchObject({ ok: false, seq: 2, reason: 'gap' });
  });

  it('deleted and renumbered events break the link', () => {
    const events = chainOf(4);
    const renumbered = [events[0]!, { ...events[2]!, seq: 2 }, { ...events[3]!, seq: 3 }];
    expect(verifyChain(renumbered)).toMatchObject({ ok: false, seq: 2, reason: 'broken_link' });
  });

  it('verifies a tail from a known head', () => {
    const events = chainOf(4);
    expect(verifyChain(events.slice(2), headAfter(events[1]!))).toMatchObject({ ok: true, count: 2 });
  });
});

describe('the fast event form', () => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '\u2028', '"\\', '\ud800'));
  const opt = fc.option(text, { nil: undefined });
  const input = fc.record({
    event: fc.constantFrom('tool.called' as const, 'auth.failed' as const),
    requestId: opt,
    sessionId: opt,
    issuer: opt,
    user: opt,
    tenant: opt,
    roles: fc.option(fc.array(text, { maxLength: 70 }), { nil: undefined }),
    ip: opt,
    transport: opt,
    method: opt,
    tool: opt,
    arguments: fc.option(fc.jsonValue(), { nil: undefined }),
    outcome: fc.option(fc.constantFrom('ok' as const, 'error' as const, 'denied' as const), { nil: undefined }),
    reason: opt,
    latencyMs: fc.option(fc.oneof(fc.double(), fc.integer()), { nil: undefined }),
  });

  it('is the canonical JSON of the event, so chainEvent seals exactly as sealEvent would', () => {
    fc.assert(
      fc.property(input, text, fc.nat(), fc.integer({ min: 0, max: 2 ** 52 }), (i, instance, lastSeq, ms) => {
        const head = { lastSeq, lastHash: GENESIS_HASH };
        const event = chainEvent(describeEvent(i, instance, ms), head);
        const { hash, ...unsealed } = event;
        expect(canonicalEventJson(unsealed)).toBe(canonicalJson(unsealed));
        expect(hash).toBe(hashEvent(event));
        expect(sealEvent(unsealed)).toEqual(event);
      }),
      { numRuns: 300 },
    );
  });
});
