/**
 * The configured rate-limit store: memory (one process), or Redis shared by every replica with
 * the conservative local fallback (SEC-RL-04).
 */
import type { RateLimitStoreConfig } from '../config/types.js';
import { FallbackRateLimitStore } from './fallback.js';
import type { StoreState } from './fallback.js';
import { RedisRateLimitStore } from './redis.js';
import { MemoryRateLimitStore } from './store.js';
import type { RateLimitStore } from './store.js';

export interface RateLimitStoreHandle {
  readonly store: RateLimitStore;
  /** `undefined` for the memory store; `fallback` while Redis is out of reach. */
  state(): StoreState | undefined;
}

export interface CreateStoreHooks {
  /** Once per outage (with its first error) and once per recovery. */
  readonly onStateChange?: (state: StoreState, err?: unknown) => void;
  /** How long to wait for the first Redis connection before starting on the fallback. */
  readonly connectWaitMs?: number;
}

export async function createRateLimitStore(
  config: RateLimitStoreConfig = { kind: 'memory' },
  hooks: CreateStoreHooks = {},
): Promise<RateLimitStoreHandle> {
  if (config.kind === 'memory') return { store: new MemoryRateLimitStore(), state: () => undefined };
  const redis = new RedisRateLimitStore({ url: config.url, keyPrefix: config.keyPrefix, timeoutMs: config.timeoutMs });
  const store = new FallbackRateLimitStore(redis, {
    expectedReplicas: config.expectedReplicas,
    ...(hooks.onStateChange && { onStateChange: hooks.onStateChange }),
  });
  // Not required: a gateway that starts while Redis is down serves on the fallback.
  await redis.whenReady(hooks.connectWaitMs ?? Math.max(config.timeoutMs, 1000));
  return { store, state: () => store.state };
}
