/**
 * Rate and concurrency limits (SEC-RL-01..03), applied on every transport before the work they
 * protect: per client IP before authentication; per principal and tenant on every JSON-RPC
 * request and stream; per tool and per principal × tool on `tools/call`; a cap on calls in
 * flight per principal and per session. Keys are the principal `(iss, sub, tenant)` and the
 * tenant — never the session or the token — so new sessions or refreshed tokens add no budget.
 */
import type { Principal } from '../auth/principal.js';
import type { LimitsConfig, ToolConfig } from '../config/types.js';
import type { RateCharge, RateLimitStore } from './store.js';

export type LimitScope = 'ip' | 'principal' | 'tenant' | 'tool' | 'principal_tool' | 'notifications' | 'concurrency';

export type LimitDecision =
  { readonly ok: true } | { readonly ok: false; readonly scope: LimitScope; readonly retryAfterSec: number };

const OK: LimitDecision = Object.freeze({ ok: true });

export class Limiter {
  readonly #config: LimitsConfig;
  readonly #store: RateLimitStore;
  readonly #now: () => number;
  readonly #inflight = new Map<string, number>();

  constructor(config: LimitsConfig, store: RateLimitStore, now: () => number = Date.now) {
    this.#config = config;
    this.#store = store;
    this.#now = now;
  }

  /** Before authentication. */
  ip(ip: string): LimitDecision | Promise<LimitDecision> {
    return this.#charge([{ key: `ip|${ip}`, rate: this.#config.perIp, cost: 1 }], ['ip']);
  }

  /** Every authenticated JSON-RPC request, GET stream and DELETE. */
  request(p: Principal): LimitDecision | Promise<LimitDecision> {
    return this.#charge(
      [
        { key: `p|${p.key}`, rate: this.#config.perPrincipal, cost: 1 },
        { key: `t|${p.tenant.length}:${p.tenant}`, rate: this.#config.perTenant, cost: 1 },
      ],
      ['principal', 'tenant'],
    );
  }

  notification(p: Principal): LimitDecision | Promise<LimitDecision> {
    return this.#charge(
      [{ key: `n|${p.key}`, rate: this.#config.notificationsPerPrincipal, cost: 1 }],
      ['notifications'],
    );
  }

  /** A `tools/call` of an authorized tool. */
  tool(p: Principal, tool: ToolConfig): LimitDecision | Promise<LimitDecision> {
    return this.#charge(
      [
        { key: `tool|${tool.name}`, rate: tool.globalRateLimit ?? this.#config.perTool, cost: 1 },
        { key: `pt|${p.key}|${tool.name}`, rate: tool.rateLimit ?? this.#config.perPrincipalTool, cost: 1 },
      ],
      ['tool', 'principal_tool'],
    );
  }

  /**
   * Takes an in-flight slot for the principal (and the session, if any); the returned release
   * must be called exactly once when the call ends. `undefined` when a cap is reached.
   */
  acquire(p: Principal, sessionId: string | undefined): (() => void) | undefined {
    const pk = `p|${p.key}`;
    const sk = sessionId === undefined ? undefined : `s|${sessionId}`;
    const pn = this.#inflight.get(pk) ?? 0;
    const sn = sk === undefined ? 0 : (this.#inflight.get(sk) ?? 0);
    if (pn >= this.#config.concurrentPerPrincipal || sn >= this.#config.concurrentPerSession) return undefined;
    this.#inflight.set(pk, pn + 1);
    if (sk !== undefined) this.#inflight.set(sk, sn + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#decrement(pk);
      if (sk !== undefined) this.#decrement(sk);
    };
  }

  #decrement(key: string): void {
    const n = (this.#inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.#inflight.delete(key);
    else this.#inflight.set(key, n);
  }

  #charge(entries: RateCharge[], scopes: LimitScope[]): LimitDecision | Promise<LimitDecision> {
    const d = this.#store.charge(entries, this.#now());
    const map = (r: Awaited<typeof d>): LimitDecision =>
      r.allowed
        ? OK
        : {
            ok: false,
            scope: scopes[r.index] ?? 'principal',
            retryAfterSec: Math.max(1, Math.ceil(r.retryAfterMs / 1000)),
          };
    return d instanceof Promise ? d.then(map) : map(d);
  }
}
