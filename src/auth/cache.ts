/**
 * A bounded cache of verified tokens (the design Envoy's `jwt_cache_config` uses).
 *
 * Security argument: the key is the SHA-256 of the exact token string, so a hit means the very
 * bytes whose signature was verified (SEC-AUTH-15: the raw token is not kept). An entry is served
 * only while `now < exp` — no clock tolerance is added on the cached path, so a cached token
 * expires no later than a freshly verified one would. `nbf`/`iat` were checked at insertion and
 * only move further into the past. Revocation (a later issue) is checked on every request, outside
 * this cache. Eviction is LRU, so the cache cannot grow past its size under a flood of tokens.
 */
import { createHash, hash } from 'node:crypto';
import type { Principal } from './principal.js';

export class TokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, Principal>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get(token: string, nowMs: number): Principal | undefined {
    if (this.#max === 0) return undefined;
    const key = digest(token);
    const p = this.#entries.get(key);
    if (!p) return undefined;
    if (p.expiresAt * 1000 <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    // Refresh recency.
    this.#entries.delete(key);
    this.#entries.set(key, p);
    return p;
  }

  set(token: string, principal: Principal, nowMs: number): void {
    if (this.#max === 0 || principal.expiresAt * 1000 <= nowMs) return;
    const key = digest(token);
    this.#entries.delete(key);
    this.#entries.set(key, principal);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** SHA-256, base64url; one-shot `crypto.hash` where Node has it (every request computes this). */
const digest: (token: string) => string =
  typeof hash === 'function'
    ? (token) => hash('sha256', token, 'base64url')
    : (token) => createHash('sha256').update(token).digest('base64url');
