/**
 * The `requestState` of a 2026-07-28 confirmation round trip (SEC-AZ-07, Z-26). The state
 * travels through the client, so it is attacker-controlled on re-entry (basic/patterns/mrtr.mdx
 * "Server Requirements"): it is HMAC-SHA256-sealed with a random per-gateway key and binds the
 * answer to the principal, the tool, the SHA-256 of the canonical arguments, an expiry and a
 * nonce that the `SingleUse` ledger lets through once.
 *
 * Wire form: `v1.<base64url(JSON payload)>.<base64url(HMAC)>`; the payload is opaque to clients
 * but not secret (it holds hashes, a time and a nonce).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';

/** What one confirmation is for. */
export interface ConfirmBinding {
  /** `Principal.key`: (iss, sub, tenant). */
  readonly principalKey: string;
  readonly tool: string;
  /** The arguments as they will run (after tenant binding). */
  readonly args: Readonly<Record<string, unknown>>;
}

export type StateRejection =
  /** Not our format, too long, or the MAC does not verify (tampered, or minted by another key). */
  | 'confirmation_state_invalid'
  /** Sealed by us, but for another principal, tool or arguments. */
  | 'confirmation_state_mismatch'
  | 'confirmation_expired'
  | 'confirmation_replayed'
  /** The nonce ledger is full: a second use could not be ruled out. */
  | 'confirmation_unavailable';

export type StateCheck = { ok: true; nonce: string; expiresAt: number } | { ok: false; reason: StateRejection };

export interface ConfirmStateCodec {
  /** A fresh sealed state for `binding`, valid until `now() + ttlMs`. */
  mint(binding: ConfirmBinding): string;
  /**
   * Verifies `state` against `binding` and the clock, then spends its nonce: a state passes at
   * most once. A mismatched state is not spent (another caller cannot burn someone's confirmation).
   */
  redeem(state: unknown, binding: ConfirmBinding): StateCheck;
}

export interface ConfirmStateOptions {
  /** HMAC key, at least 32 bytes (default: 32 random bytes, so states die with the process). */
  key?: Buffer;
  ttlMs: number;
  now?: () => number;
  /** Bound on nonces remembered at once (default 100 000); past it, new redemptions fail closed. */
  maxNonces?: number;
}

const VERSION = 'v1';
/** Domain separation: this key's MACs mean "a confirmation state", nothing else. */
const MAC_CONTEXT = 'portcullis/confirm-state/v1\n';
const MAX_STATE_CHARS = 1024;
const STATE_FORMAT = /^v1\.([A-Za-z0-9_-]{16,960})\.([A-Za-z0-9_-]{43})$/;

/** SHA-256 (hex) of the canonical JSON of the arguments: key order does not matter, any value change does. */
export function argumentsDigest(args: Readonly<Record<string, unknown>>): string {
  return sha256Hex(canonicalJson(args));
}

interface Payload {
  /** SHA-256 of the principal key. */
  p: string;
  t: string;
  a: string;
  /** Expiry, ms since the epoch. */
  e: number;
  n: string;
}

export function createConfirmStateCodec(opts: ConfirmStateOptions): ConfirmStateCodec {
  const key = opts.key ?? randomBytes(32);
  if (key.length < 32) throw new RangeError('confirmation state key must be at least 32 bytes');
  const now = opts.now ?? Date.now;
  const ledger = new SingleUse(opts.maxNonces ?? 100_000);
  const mac = (body: string): Buffer => createHmac('sha256', key).update(MAC_CONTEXT).update(body).digest();

  return {
    mint(binding) {
      const payload: Payload = {
        p: sha256Hex(binding.principalKey),
        t: binding.tool,
        a: argumentsDigest(binding.args),
        e: now() + opts.ttlMs,
        n: randomBytes(16).toString('base64url'),
      };
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      return `${VERSION}.${body}.${mac(body).toString('base64url')}`;
    },

    redeem(state, binding) {
      const payload = open(state);
      if (!payload) return { ok: false, reason: 'confirmation_state_invalid' };
      if (
        payload.p !== sha256Hex(binding.principalKey) ||
        payload.t !== binding.tool ||
        payload.a !== argumentsDigest(binding.args)
      ) {
        return { ok: false, reason: 'confirmation_state_mismatch' };
      }
      const t = now();
      if (t >= payload.e) return { ok: false, reason: 'confirmation_expired' };
      const spent = ledger.spend(payload.n, payload.e, t);
      if (spent !== 'ok') return { ok: false, reason: spent };
      return { ok: true, nonce: payload.n, expiresAt: payload.e };
    },
  };

  /** The payload of a well-formed state whose MAC verifies; `undefined` for anything else. */
  function open(state: unknown): Payload | undefined {
    if (typeof state !== 'string' || state.length > MAX_STATE_CHARS) return undefined;
    const m = STATE_FORMAT.exec(state);
    if (!m) return undefined;
    const body = m[1] ?? '';
    const given = Buffer.from(m[2] ?? '', 'base64url');
    const expected = mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    return isPayload(parsed) ? parsed : undefined;
  }
}

function isPayload(v: unknown): v is Payload {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.p === 'string' &&
    typeof r.t === 'string' &&
    typeof r.a === 'string' &&
    typeof r.n === 'string' &&
    typeof r.e === 'number' &&
    Number.isSafeInteger(r.e)
  );
}

/**
 * Nonces already spent, each kept until its state expires (after that the expiry check refuses
 * the state anyway). Bounded: when full and nothing has expired, `spend` refuses.
 */
export class SingleUse {
  readonly #spent = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /**
   * `ok` the first time `nonce` is spent; a replay otherwise. A full ledger cannot prove the
   * nonce unused, so it refuses rather than risk a second use.
   */
  spend(nonce: string, expiresAt: number, now: number): 'ok' | 'confirmation_replayed' | 'confirmation_unavailable' {
    if (this.#spent.has(nonce)) return 'confirmation_replayed';
    if (this.#spent.size >= this.#max) {
      this.sweep(now);
      if (this.#spent.size >= this.#max) return 'confirmation_unavailable';
    }
    this.#spent.set(nonce, expiresAt);
    return 'ok';
  }

  sweep(now: number): void {
    for (const [nonce, exp] of this.#spent) if (exp <= now) this.#spent.delete(nonce);
  }

  get size(): number {
    return this.#spent.size;
  }
}
