/**
 * Fail closed but available (SEC-RL-04): a shared store (Redis) backed by a conservative
 * per-instance one. When the shared store fails or times out, this gateway limits on its own,
 * with every rate divided by the number of replicas expected to share the traffic, so the
 * cluster as a whole stays near the configured budget — never without a limit. A background
 * probe (one script run with no keys, each bounded by the command timeout) brings it back to
 * the shared store; requests never wait on a store known to be down.
 */
import type { RateConfig } from '../config/types.js';
import { MemoryRateLimitStore } from './store.js';
import type { RateCharge, RateDecision, RateLimitStore } from './store.js';

/** A shared store that can say whether it is connected (a probe is pointless while it is not). */
export interface SharedRateLimitStore extends RateLimitStore {
  readonly available: boolean;
  charge(entries: readonly RateCharge[], nowMs: number): Promise<RateDecision>;
}

export type StoreState = 'shared' | 'fallback';

export interface FallbackOptions {
  /** Replicas sharing the traffic: each local rate is the configured one divided by this. */
  readonly expectedReplicas: number;
  /** How often to probe the shared store while on the fallback (default 1000 ms). */
  readonly probeEveryMs?: number;
  /** Called once when an outage starts (with its first error) and once when it ends. */
  readonly onStateChange?: (state: StoreState, err?: unknown) => void;
}

/** `rate` for one of `replicas` instances: requests divided (fractions allowed), burst at least 1. */
export function localShare(rate: RateConfig, replicas: number): RateConfig {
  return {
    requests: rate.requests / replicas,
    windowSec: rate.windowSec,
    burst: Math.max(1, Math.floor(rate.burst / replicas)),
  };
}

export class FallbackRateLimitStore implements RateLimitStore {
  readonly #shared: SharedRateLimitStore;
  readonly #local = new MemoryRateLimitStore();
  readonly #replicas: number;
  readonly #probeEveryMs: number;
  readonly #onStateChange: FallbackOptions['onStateChange'];
  /** The local share of each configured rate (rate objects live as long as the config). */
  readonly #shares = new WeakMap<RateConfig, RateConfig>();
  #state: StoreState = 'shared';
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;

  constructor(shared: SharedRateLimitStore, opts: FallbackOptions) {
    if (!(opts.expectedReplicas >= 1)) throw new RangeError('expectedReplicas must be at least 1');
    this.#shared = shared;
    this.#replicas = opts.expectedReplicas;
    this.#probeEveryMs = opts.probeEveryMs ?? 1000;
    this.#onStateChange = opts.onStateChange;
  }

  /** `fallback` while the shared store is unreachable or too slow. */
  get state(): StoreState {
    return this.#state;
  }

  charge(entries: readonly RateCharge[], nowMs: number): RateDecision | Promise<RateDecision> {
    if (this.#state === 'fallback') return this.#chargeLocal(entries, nowMs);
    return this.#shared.charge(entries, nowMs).catch((err: unknown) => {
      this.#fallBack(err);
      return this.#chargeLocal(entries, nowMs);
    });
  }

  #chargeLocal(entries: readonly RateCharge[], nowMs: number): RateDecision {
    const local = entries.map((e) => ({ key: e.key, rate: this.#share(e.rate), cost: e.cost }));
    return this.#local.charge(local, nowMs);
  }

  #share(rate: RateConfig): RateConfig {
    let s = this.#shares.get(rate);
    if (s === undefined) this.#shares.set(rate, (s = localShare(rate, this.#replicas)));
    return s;
  }

  #fallBack(err: unknown): void {
    if (this.#state === 'fallback' || this.#closed) return;
    this.#state = 'fallback';
    this.#onStateChange?.('fallback', err);
    this.#probe = setInterval(() => void this.#tryShared(), this.#probeEveryMs);
    this.#probe.unref();
  }

  async #tryShared(): Promise<void> {
    if (this.#probing || this.#state === 'shared' || !this.#shared.available) return;
    this.#probing = true;
    try {
      await this.#shared.charge([{ key: 'probe', rate: PROBE_RATE, cost: 0 }], 0);
      // (The state may have changed while the probe ran.)
      if (this.#closed || this.state === 'shared') return;
      clearInterval(this.#probe);
      this.#state = 'shared';
      this.#onStateChange?.('shared');
    } catch {
      // Still down: the next tick tries again.
    } finally {
      this.#probing = false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    await Promise.all([this.#shared.close(), this.#local.close()]);
  }
}

/** A probe charges nothing (cost 0) but runs the real script, `TIME` and all. */
const PROBE_RATE: RateConfig = Object.freeze({ requests: 1, windowSec: 1, burst: 1 });
