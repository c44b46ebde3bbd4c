/**
 * SEC-RL-04 at the store level: Redis down or frozen → conservative local shares (never no
 * limit), one state change per outage, and back to Redis when it recovers. Each test runs its
 * own redis-server, which it kills, freezes and restarts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimitStore } from '../../src/limits/create.js';
import type { RateLimitStoreHandle } from '../../src/limits/create.js';
import { localShare } from '../../src/limits/fallback.js';
import type { StoreState } from '../../src/limits/fallback.js';
import type { RateCharge } from '../../src/limits/store.js';
import { freePort } from '../helpers/gateway.js';
import { RedisProcess, adminClient, eventually, randomPrefix } from './redis-helpers.js';

const rate = (requests: number, windowSec = 3600, burst = requests) => ({ requests, windowSec, burst });
const PER_PRINCIPAL = rate(4);
const charge = (key: string): RateCharge[] => [{ key, rate: PER_PRINCIPAL, cost: 1 }];

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(opts: { timeoutMs?: number; url?: string } = {}) {
  const server = opts.url ? undefined : await RedisProcess.start();
  if (server) cleanup.push(() => server.stop());
  const changes: { state: StoreState; err?: unknown }[] = [];
  const prefix = randomPrefix();
  const handle: RateLimitStoreHandle = await createRateLimitStore(
    {
      kind: 'redis',
      url: opts.url ?? server!.url,
      keyPrefix: prefix,
      timeoutMs: opts.timeoutMs ?? 2000,
      expectedReplicas: 2,
    },
    { onStateChange: (state, err) => changes.push({ state, err }) },
  );
  cleanup.push(() => handle.store.close());
  let clock = 1_000_000;
  /** Charges `n` times on the local clock (frozen: no refill), returning how many were allowed. */
  const allowed = async (key: string, n: number): Promise<number> => {
    let ok = 0;
    for (let i = 0; i < n; i++) if ((await handle.store.charge(charge(key), clock)).allowed) ok++;
    return ok;
  };
  return { server, handle, changes, prefix, allowed, tick: (ms: number) => (clock += ms) };
}

describe('FallbackRateLimitStore', () => {
  it('Redis killed: half the rate per instance, one state change; Redis again once it is back', async () => {
    const { server, handle, changes, prefix, allowed } = await setup();
    expect(handle.state()).toBe('shared');
    expect(await allowed('p|a', 6)).toBe(4);

    await server!.kill();
    // 4 per hour shared by 2 replicas: 2 here. Every charge answers; none is unlimited.
    expect(await allowed('p|b', 6)).toBe(2);
    expect(await allowed('p|a', 3)).toBe(2); // the local store starts empty: a fresh local share
    expect(handle.state()).toBe('fallback');
    expect(changes.map((c) => c.state)).toEqual(['fallback']);
    expect(changes[0]!.err).toBeInstanceOf(Error);

    await server!.start();
    await eventually(() => Promise.resolve(handle.state() === 'shared'), 'the store to return to Redis');
    expect(changes.map((c) => c.state)).toEqual(['fallback', 'shared']);
    // The restarted Redis is empty: a full shared budget, counted in Redis.
    expect(await allowed('p|c', 6)).toBe(4);
    const direct = adminClient(server!.url);
    try {
      expect(await direct.exists(`${prefix}p|c`)).toBe(1);
    } finally {
      direct.disconnect();
    }
  });

  it('a frozen Redis (accepts, never answers) falls back after the command timeout', async () => {
    const { server, handle, changes, allowed } = await setup({ timeoutMs: 150 });
    expect(await allowed('p|a', 1)).toBe(1);
    server!.freeze();
    expect(await allowed('p|b', 5)).toBe(2);
    expect(handle.state()).toBe('fallback');
    server!.thaw();
    await eventually(() => Promise.resolve(handle.state() === 'shared'), 'the store to return to Redis');
    expect(changes.map((c) => c.state)).toEqual(['fallback', 'shared']);
    expect(await allowed('p|a', 5)).toBe(3); // p|a kept its Redis state (1 of 4 used)
  });

  it('a gateway that starts while Redis is down limits locally from the first request', async () => {
    const { handle, changes, allowed } = await setup({ url: `redis://127.0.0.1:${await freePort()}/0` });
    expect(await allowed('p|a', 5)).toBe(2);
    expect(handle.state()).toBe('fallback');
    expect(changes.map((c) => c.state)).toEqual(['fallback']);
  });

  it('local shares refill on the local clock', async () => {
    const { server, allowed, tick } = await setup();
    await server!.kill();
    expect(await allowed('p|a', 3)).toBe(2);
    tick(1_800_000); // one emission interval of 2 per hour
    expect(await allowed('p|a', 2)).toBe(1);
  });

  it('a local share divides the rate and rounds the burst down, never below one', () => {
    expect(localShare(rate(5, 60), 2)).toEqual({ requests: 2.5, windowSec: 60, burst: 2 });
    expect(localShare(rate(1, 60), 3)).toEqual({ requests: 1 / 3, windowSec: 60, burst: 1 });
    expect(localShare({ requests: 100, windowSec: 10, burst: 20 }, 4)).toEqual({
      requests: 25,
      windowSec: 10,
      burst: 5,
    });
  });
});
