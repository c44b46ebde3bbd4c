/**
 * RedisRateLimitStore against a real Redis: GCRA in one Lua script, atomic across the keys of a
 * charge and across clients, on the server's clock, with keys that expire when idle. The shared
 * server (127.0.0.1:6379) is used under a random key prefix per test; the cases that flush
 * scripts or need a dead server run their own redis-server.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { GCRA_LUA, RedisRateLimitStore, redisConnection } from '../../src/limits/redis.js';
import type { RateCharge } from '../../src/limits/store.js';
import { freePort } from '../helpers/gateway.js';
import { RedisProcess, SHARED_REDIS, adminClient, deletePrefix, eventually, randomPrefix } from './redis-helpers.js';

const rate = (requests: number, windowSec = 60, burst = requests) => ({ requests, windowSec, burst });
const one = (key: string, r = rate(2)): RateCharge => ({ key, rate: r, cost: 1 });

let admin: Redis;
let prefix: string;
const stores: RedisRateLimitStore[] = [];
function store(url = SHARED_REDIS, timeoutMs = 2000): RedisRateLimitStore {
  const s = new RedisRateLimitStore({ url, keyPrefix: prefix, timeoutMs });
  stores.push(s);
  return s;
}
async function ready(url = SHARED_REDIS): Promise<RedisRateLimitStore> {
  const s = store(url);
  expect(await s.whenReady(10_000)).toBe(true);
  return s;
}

beforeEach(() => {
  admin ??= adminClient();
  prefix = randomPrefix();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await deletePrefix(admin, prefix);
});
afterAll(() => {
  admin?.disconnect();
});

describe('RedisRateLimitStore', () => {
  it('allows the burst, then refuses naming the full key and when the next request fits', async () => {
    const s = await ready();
    expect(await s.charge([one('p|alice')], 0)).toEqual({ allowed: true });
    expect(await s.charge([one('p|alice')], 0)).toEqual({ allowed: true });
    const refused = await s.charge([one('t|acme', rate(100)), one('p|alice')], 0);
    expect(refused).toMatchObject({ allowed: false, index: 1 });
    // 2 per 60 s: the next request fits one emission interval (30 s) after the first.
    const retry = (refused as { retryAfterMs: number }).retryAfterMs;
    expect(retry).toBeGreaterThan(20_000);
    expect(retry).toBeLessThanOrEqual(30_000);
    expect(await s.charge([one('p|bob')], 0)).toEqual({ allowed: true });
  });

  it('charges every key or none: a refusal on the second key leaves the first untouched', async () => {
    const s = await ready();
    expect(await s.charge([one('p|alice', rate(100)), one('t|acme', rate(1))], 0)).toEqual({ allowed: true });
    const before = await admin.get(`${prefix}p|alice`);
    expect(before).not.toBeNull();
    expect(await s.charge([one('p|alice', rate(100)), one('t|acme', rate(1))], 0)).toMatchObject({
      allowed: false,
      index: 1,
    });
    expect(await admin.get(`${prefix}p|alice`)).toBe(before);
    // And a refusal on the first key charges nothing after it.
    expect(await s.charge([one('t|acme', rate(1)), one('p|carol', rate(100))], 0)).toMatchObject({
      allowed: false,
      index: 0,
    });
    expect(await admin.exists(`${prefix}p|carol`)).toBe(0);
  });

  it('is atomic across clients: 40 concurrent charges from two connections get exactly the budget', async () => {
    const [a, b] = [await ready(), await ready()];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).charge([one('p|race', rate(10, 3600))], 0)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it("uses the Redis server's clock: replicas passing wildly different local times share one budget", async () => {
    const [a, b] = [await ready(), await ready()];
    expect(await a.charge([one('p|skew')], 0)).toEqual({ allowed: true });
    expect(await b.charge([one('p|skew')], Date.now() + 3_600_000)).toEqual({ allowed: true });
    expect(await a.charge([one('p|skew')], Number.MAX_SAFE_INTEGER)).toMatchObject({ allowed: false, index: 0 });
  });

  it('keys carry the prefix and a TTL that ends when the key holds no more state than a fresh one', async () => {
    const s = await ready();
    await s.charge([one('p|ttl', rate(1, 60))], 0);
    const ttl = await admin.pttl(`${prefix}p|ttl`);
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // 20 per second: one charge leaves 50 ms of state, then the key is gone.
    await s.charge([one('p|idle', rate(20, 1))], 0);
    await eventually(async () => (await admin.exists(`${prefix}p|idle`)) === 0, 'the idle key to expire');
    expect(await admin.keys(`${prefix}*`)).toEqual([`${prefix}p|ttl`]);
  });

  it('cost weights move the TAT by cost intervals', async () => {
    const s = await ready();
    expect(await s.charge([{ key: 'pt|x', rate: rate(5), cost: 3 }], 0)).toEqual({ allowed: true });
    expect(await s.charge([{ key: 'pt|x', rate: rate(5), cost: 3 }], 0)).toMatchObject({ allowed: false });
    expect(await s.charge([{ key: 'pt|x', rate: rate(5), cost: 2 }], 0)).toEqual({ allowed: true });
  });

  it('reloads its script with EVAL after NOSCRIPT (a flushed or restarted Redis)', async () => {
    const own = await RedisProcess.start();
    try {
      const s = await ready(own.url);
      expect(await s.charge([one('p|a')], 0)).toEqual({ allowed: true });
      const direct = adminClient(own.url);
      try {
        expect(await direct.script('FLUSH')).toBe('OK');
        expect(await s.charge([one('p|a')], 0)).toEqual({ allowed: true });
        expect(await s.charge([one('p|a')], 0)).toMatchObject({ allowed: false });
        const sha = (await direct.script('LOAD', GCRA_LUA)) as string;
        expect(await direct.script('EXISTS', sha)).toEqual([1]);
      } finally {
        direct.disconnect();
      }
    } finally {
      await own.stop();
    }
  });

  it('rejects (never hangs, never crashes) when Redis is unreachable or frozen', async () => {
    const dead = store(`redis://127.0.0.1:${await freePort()}/0`, 200);
    expect(await dead.whenReady(5000)).toBe(false);
    await expect(dead.charge([one('p|a')], 0)).rejects.toThrow();
    const own = await RedisProcess.start();
    try {
      const s = store(own.url, 200);
      expect(await s.whenReady(10_000)).toBe(true);
      own.freeze();
      await expect(s.charge([one('p|a')], 0)).rejects.toThrow(/timed out/i);
    } finally {
      await own.stop();
    }
  });

  it('takes connection settings from the URL only, never client options from its query', () => {
    expect(redisConnection('redis://user:p%40ss@10.0.0.5:6380/3')).toEqual({
      host: '10.0.0.5',
      port: 6380,
      username: 'user',
      password: 'p@ss',
      db: 3,
    });
    expect(redisConnection('rediss://[::1]')).toEqual({ host: '::1', port: 6379, tls: {} });
    expect(redisConnection('rediss://cache.internal')).toMatchObject({ tls: { servername: 'cache.internal' } });
    expect(redisConnection('redis://h/?enableOfflineQueue=true')).toEqual({ host: 'h', port: 6379 });
    expect(() => redisConnection('http://h')).toThrow();
  });
});
