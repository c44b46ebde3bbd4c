/**
 * The sealed `requestState` of a 2026-07-28 confirmation (SEC-AZ-07, Z-26): it verifies only
 * for the principal, tool and arguments it was minted for, before its expiry, and once.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SingleUse, argumentsDigest, createConfirmStateCodec } from '../../src/policy/confirmState.js';
import type { ConfirmBinding } from '../../src/policy/confirmState.js';

const TTL = 60_000;
const binding: ConfirmBinding = {
  principalKey: '10:urn:test-a|5:carol|4:acme',
  tool: 'refund_payment',
  args: { tenantId: 'acme', paymentId: 'pay_1', amountCents: 100, confirm: true },
};

function codec(opts: { key?: Buffer; maxNonces?: number } = {}) {
  let t = 1_700_000_000_000;
  const c = createConfirmStateCodec({ ttlMs: TTL, now: () => t, ...opts });
  return { c, advance: (ms: number) => (t += ms) };
}

/** Flips one character of the part `index` of `v1.<payload>.<mac>`. */
function flip(state: string, index: 1 | 2): string {
  const parts = state.split('.');
  const part = parts[index]!;
  const at = Math.floor(part.length / 2);
  parts[index] = part.slice(0, at) + (part[at] === 'A' ? 'B' : 'A') + part.slice(at + 1);
  return parts.join('.');
}

describe('confirmation requestState', () => {
  it('verifies for the binding it was minted for, once', () => {
    const { c } = codec();
    const state = c.mint(binding);
    expect(state).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(c.redeem(state, binding)).toMatchObject({ ok: true });
    expect(c.redeem(state, binding)).toEqual({ ok: false, reason: 'confirmation_replayed' });
  });

  it('is bound to the arguments by their canonical digest: key order does not matter, any value does', () => {
    const { c } = codec();
    const reordered = { ...binding, args: { confirm: true, amountCents: 100, paymentId: 'pay_1', tenantId: 'acme' } };
    expect(argumentsDigest(reordered.args)).toBe(argumentsDigest(binding.args));
    expect(c.redeem(c.mint(binding), reordered)).toMatchObject({ ok: true });
    for (const args of [
      { ...binding.args, amountCents: 101 },
      { ...binding.args, paymentId: 'pay_2' },
      { ...binding.args, extra: null },
      { tenantId: 'acme', paymentId: 'pay_1', confirm: true },
    ]) {
      expect(c.redeem(c.mint(binding), { ...binding, args })).toEqual({
        ok: false,
        reason: 'confirmation_state_mismatch',
      });
    }
  });

  it('is bound to the principal and the tool', () => {
    const { c } = codec();
    expect(c.redeem(c.mint(binding), { ...binding, principalKey: '10:urn:test-a|5:erin_|4:acme' })).toEqual({
      ok: false,
      reason: 'confirmation_state_mismatch',
    });
    expect(c.redeem(c.mint(binding), { ...binding, tool: 'deprovision_tenant' })).toEqual({
      ok: false,
      reason: 'confirmation_state_mismatch',
    });
  });

  it('a mismatched attempt does not spend the state of its rightful owner', () => {
    const { c } = codec();
    const state = c.mint(binding);
    expect(c.redeem(state, { ...binding, principalKey: 'someone else' })).toMatchObject({ ok: false });
    expect(c.redeem(state, binding)).toMatchObject({ ok: true });
  });

  it('expires after its TTL', () => {
    const { c, advance } = codec();
    const state = c.mint(binding);
    advance(TTL - 1);
    const fresh = c.mint(binding);
    expect(c.redeem(state, binding)).toMatchObject({ ok: true });
    advance(1);
    expect(c.redeem(fresh, binding)).toMatchObject({ ok: true });
    const late = c.mint(binding);
    advance(TTL);
    expect(c.redeem(late, binding)).toEqual({ ok: false, reason: 'confirmation_expired' });
  });

  it('refuses a tampered payload or MAC, and a state minted with another key', () => {
    const { c } = codec();
    const other = codec({ key: randomBytes(32) }).c;
    expect(c.redeem(flip(c.mint(binding), 1), binding)).toEqual({ ok: false, reason: 'confirmation_state_invalid' });
    expect(c.redeem(flip(c.mint(binding), 2), binding)).toEqual({ ok: false, reason: 'confirmation_state_invalid' });
    expect(c.redeem(other.mint(binding), binding)).toEqual({ ok: false, reason: 'confirmation_state_invalid' });
  });

  it('a forged payload with a longer expiry does not verify', () => {
    const { c } = codec();
    const [, body] = c.mint(binding).split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, e: Number(payload.e) + 10 * TTL })).toString('base64url');
    const state = c.mint(binding).split('.');
    expect(c.redeem(`v1.${forged}.${state[2]}`, binding)).toEqual({ ok: false, reason: 'confirmation_state_invalid' });
  });

  it.each([
    undefined,
    null,
    42,
    {},
    [],
    '',
    'v1',
    'v1..',
    'v2.abc.def',
    'x'.repeat(5000),
    `v1.${'A'.repeat(16)}.${'A'.repeat(43)}`,
  ])('refuses a malformed state %#', (state) => {
    const { c } = codec();
    expect(c.redeem(state, binding)).toEqual({ ok: false, reason: 'confirmation_state_invalid' });
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => createConfirmStateCodec({ ttlMs: TTL, key: randomBytes(16) })).toThrow(RangeError);
  });

  it('fails closed when the nonce ledger is full of unexpired nonces, and recovers as they expire', () => {
    const { c, advance } = codec({ maxNonces: 2 });
    expect(c.redeem(c.mint(binding), binding)).toMatchObject({ ok: true });
    expect(c.redeem(c.mint(binding), binding)).toMatchObject({ ok: true });
    const third = c.mint(binding);
    expect(c.redeem(third, binding)).toEqual({ ok: false, reason: 'confirmation_unavailable' });
    advance(TTL);
    expect(c.redeem(c.mint(binding), binding)).toMatchObject({ ok: true });
  });
});

describe('SingleUse', () => {
  it('lets a nonce through once and forgets it only after it expires', () => {
    const ledger = new SingleUse(10);
    expect(ledger.spend('n1', 100, 0)).toBe('ok');
    expect(ledger.spend('n1', 100, 50)).toBe('confirmation_replayed');
    ledger.sweep(99);
    expect(ledger.size).toBe(1);
    ledger.sweep(100);
    expect(ledger.size).toBe(0);
  });
});
