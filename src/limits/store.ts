/**
 * Rate-limit storage. A store applies the generic cell rate algorithm (GCRA) to a set of keys
 * atomically: either every key has room and all are charged, or none is. The memory store is
 * the default; a Redis store (one Lua script per call) implements the same interface for
 * several gateways sharing one budget.
 */
import type { RateConfig } from '../config/types.js';

export interface RateCharge {
  readonly key: string;
  readonly rate: RateConfig;
  readonly cost: number;
}

export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly index: number; readonly retryAfterMs: number };

export interface RateLimitStore {
  /** Charges every entry, or none; on refusal names the first full one and when to retry. */
  charge(entries: readonly RateCharge[], nowMs: number): RateDecision | Promise<RateDecision>;
  close(): Promise<void>;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/**
 * GCRA in memory: one number per key, the "theoretical arrival time" (TAT). A request of cost c
 * moves the TAT by c emission intervals (window / requests); it is refused while that would put
 * the TAT more than `burst` intervals ahead of now. Keys whose TAT has passed hold no state and
 * are swept. The store has no clock of its own: it sweeps by the latest time it was charged at,
 * so it follows whatever clock the limiter uses (monotonic by default, a test's clock).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #tat = new Map<string, number>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #maxKeys: number;
  #latest = -Infinity;

  constructor(opts: { maxKeys?: number; sweepEveryMs?: number } = {}) {
    this.#maxKeys = opts.maxKeys ?? 1_000_000;
    this.#sweeper = setInterval(() => this.sweep(this.#latest), opts.sweepEveryMs ?? 10_000);
    this.#sweeper.unref();
  }

  charge(entries: readonly RateCharge[], nowMs: number): RateDecision {
    if (nowMs > this.#latest) this.#latest = nowMs;
    const next: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const { key, rate, cost } = entries[i]!;
      const interval = (rate.windowSec * 1000) / rate.requests;
      const tat = Math.max(this.#tat.get(key) ?? nowMs, nowMs);
      const newTat = tat + interval * cost;
      const allowAt = newTat - interval * rate.burst;
      if (allowAt > nowMs) return { allowed: false, index: i, retryAfterMs: Math.ceil(allowAt - nowMs) };
      next.push(newTat);
    }
    if (this.#tat.size + entries.length > this.#maxKeys) this.sweep(nowMs);
    for (let i = 0; i < entries.length; i++) this.#tat.set(entries[i]!.key, next[i]!);
    return ALLOWED;
  }

  /** Drops keys whose TAT is in the past: they are indistinguishable from fresh keys. */
  sweep(nowMs: number): void {
    for (const [key, tat] of this.#tat) if (tat <= nowMs) this.#tat.delete(key);
  }

  get size(): number {
    return this.#tat.size;
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#tat.clear();
    return Promise.resolve();
  }
}
