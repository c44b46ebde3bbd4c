/**
 * Rate and concurrency limits (SEC-RL-01..03), applied on every transport before the work they
 * protect: per client IP before authentication; per principal and tenant on every JSON-RPC
 * request and stream; per tool and per principal × tool on `tools/call`; a cap on calls in
 * flight per principal and per session. Keys are the principal `(iss, sub, tenant)` and the
 * tenant — never the session or the token — so new sessions or refreshed tokens add no budget.
 */
import type { Principal } from '../auth/principal.js';
import type { LimitsConfig, ToolConfig } from '../config/types.js';
import { monotonicNow } from './clock.js';
import type { RateCharge, RateDecision, RateLimitStore } from './store.js';

export type LimitScope = 'ip' | 'principal' | 'tenant' | 'tool' | 'principal_tool' | 'notifications' | 'concurrency';

export type LimitDecision =
  { readonly ok: true } | { readonly ok: false; readonly scope: LimitScope; readonly retryAfterSec: number };

const OK: LimitDecision = Object.freeze({ ok: true });
const IP_SCOPES: readonly LimitScope[] = ['ip'];
const REQUEST_SCOPES: readonly LimitScope[] = ['principal', 'tenant'];
const NOTIFICATION_SCOPES: readonly LimitScope[] = ['notifications'];
const TOOL_SCOPES: readonly LimitScope[] = ['tool', 'principal_tool'];

/** A principal's store keys, built once per principal object (the token cache hands out the same one). */
interface PrincipalKeys {
  readonly request: string;
  readonly tenant: string;
  readonly notification: string;
  /** Per tool name: `pt|…` (bounded by the configured tools). */
  readonly tools: Map<string, string>;
}

export class Limiter {
  readonly #config: LimitsConfig;
  readonly #store: RateLimitStore;
  readonly #now: () => number;
  readonly #inflight = new Map<string, number>();
  readonly #keys = new WeakMap<Principal, PrincipalKeys>();
  /** `tool|…` per configured tool name. */
  readonly #toolKeys = new Map<string, string>();

  /** `now`: the clock of the memory store (default monotonic; the Redis store reads Redis's own). */
  constructor(config: LimitsConfig, store: RateLimitStore, now: () => number = monotonicNow) {
    this.#config = config;
    this.#store = store;
    this.#now = now;
  }

  #keysOf(p: Principal): PrincipalKeys {
    let k = this.#keys.get(p);
    if (k === undefined) {
      k = {
        request: `p|${p.key}`,
        tenant: `t|${p.tenant.length}:${p.tenant}`,
        notification: `n|${p.key}`,
        tools: new Map(),
      };
      this.#keys.set(p, k);
    }
    return k;
  }

  #toolKey(name: string): string {
    let key = this.#toolKeys.get(name);
    if (key === undefined) this.#toolKeys.set(name, (key = `tool|${name}`));
    return key;
  }

  /** Before authentication. */
  ip(ip: string): LimitDecision | Promise<LimitDecision> {
    return this.#charge([{ key: `ip|${ip}`, rate: this.#config.perIp, cost: 1 }], IP_SCOPES);
  }

  /** Every authenticated JSON-RPC request, GET stream and DELETE. */
  request(p: Principal): LimitDecision | Promise<LimitDecision> {
    return this.#charge(
      [
        { key: this.#keysOf(p).request, rate: this.#config.perPrincipal, cost: 1 },
        { key: this.#keysOf(p).tenant, rate: this.#config.perTenant, cost: 1 },
      ],
      REQUEST_SCOPES,
    );
  }

  notification(p: Principal): LimitDecision | Promise<LimitDecision> {
    return this.#charge(
      [{ key: this.#keysOf(p).notification, rate: this.#config.notificationsPerPrincipal, cost: 1 }],
      NOTIFICATION_SCOPES,
    );
  }

  /** A `tools/call` of an authorized tool. */
  tool(p: Principal, tool: ToolConfig): LimitDecision | Promise<LimitDecision> {
    const keys = this.#keysOf(p).tools;
    let pt = keys.get(tool.name);
    if (pt === undefined) keys.set(tool.name, (pt = `pt|${p.key}|${tool.name}`));
    return this.#charge(
      [
        { key: this.#toolKey(tool.name), rate: tool.globalRateLimit ?? this.#config.perTool, cost: 1 },
        { key: pt, rate: tool.rateLimit ?? this.#config.perPrincipalTool, cost: 1 },
      ],
      TOOL_SCOPES,
    );
  }

  /**
   * Takes an in-flight slot for the principal (and the session, if any); the returned release
   * must be called exactly once when the call ends. `undefined` when a cap is reached.
   */
  acquire(p: Principal, sessionId: string | undefined): (() => void) | undefined {
    const pk = this.#keysOf(p).request;
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

  #charge(entries: RateCharge[], scopes: readonly LimitScope[]): LimitDecision | Promise<LimitDecision> {
    const d = this.#store.charge(entries, this.#now());
    return d instanceof Promise ? d.then((r) => decide(r, scopes)) : decide(d, scopes);
  }
}

function decide(r: RateDecision, scopes: readonly LimitScope[]): LimitDecision {
  return r.allowed
    ? OK
    : {
        ok: false,
        scope: scopes[r.index] ?? 'principal',
        retryAfterSec: Math.max(1, Math.ceil(r.retryAfterMs / 1000)),
      };
}
