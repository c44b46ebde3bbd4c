/**
 * SEC-RL-04 — cluster mode: rate-limit counters in Redis shared by gateways behind a load
 * balancer without sticky sessions. D-16 runs two real gateways on the shared Redis
 * (127.0.0.1:6379, a random key prefix) and alternates requests between them; D-15 runs its own
 * redis-server, kills it mid-test, and restarts it. Each refusal is RC-19 exactly.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../audit/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { postModern } from '../integration/support.js';
import {
  RedisProcess,
  SHARED_REDIS,
  adminClient,
  deletePrefix,
  eventually,
  randomPrefix,
} from '../limits/redis-helpers.js';

const RATE_LIMITED = { code: -32000, message: 'Rate limit exceeded' };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const admin = adminClient();
afterAll(() => admin.disconnect());

/** Gateways sharing one Redis budget: `perPrincipal` requests per hour. */
async function cluster(opts: { url: string; prefix: string; perPrincipal: number; n: number; timeoutMs: number }) {
  const gateways: (TestGateway & { logs: string[] })[] = [];
  for (let i = 0; i < opts.n; i++) {
    const { logger, lines } = captureLogger();
    const g = await startGateway({
      logger,
      extraYaml: `limits:
  perPrincipal: { requests: ${opts.perPrincipal}, windowSec: 3600 }
  store:
    redis: { url: '${opts.url}', keyPrefix: '${opts.prefix}', timeoutMs: ${opts.timeoutMs}, expectedReplicas: 2 }`,
    });
    cleanup.push(() => g.close());
    gateways.push({ ...g, logs: lines });
  }
  return gateways;
}

/** `tools/list` as `sub` (tenant acme) on each gateway in turn; the statuses, RC-19 checked. */
async function roundRobin(gateways: TestGateway[], sub: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = gateways[i % gateways.length]!;
    const res = await postModern(g.mcpUrl, await g.token('alice', { sub }), 'tools/list', {}, { id: i + 1 });
    statuses.push(res.status);
    if (res.status === 429) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toEqual({ jsonrpc: '2.0', id: i + 1, error: RATE_LIMITED });
    } else {
      expect(res.status).toBe(200);
      await res.text();
    }
  }
  return statuses;
}

async function readiness(g: TestGateway): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const res = await fetch(`${g.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

async function fallbackGauge(g: TestGateway): Promise<string | undefined> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  return /^portcullis_rate_limit_fallback (\S+)$/m.exec(text)?.[1];
}

describe('SEC-RL-04 cluster mode: limits shared through Redis', () => {
  it('D-16 two gateways on one Redis share one budget: alternating requests get 5 in all, not 5 each', async () => {
    const prefix = randomPrefix();
    cleanup.push(() => deletePrefix(admin, prefix));
    const gateways = await cluster({ url: SHARED_REDIS, prefix, perPrincipal: 5, n: 2, timeoutMs: 2000 });
    expect(await roundRobin(gateways, 'd16-alice', 8)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    // Another principal still has its own budget, on either gateway.
    expect(await roundRobin(gateways.slice().reverse(), 'd16-bob', 1)).toEqual([200]);
    // The counters are in Redis under the prefix, and no gateway ever left it.
    const keys = await admin.keys(`${prefix}*`);
    expect(keys.some((k) => k.startsWith(`${prefix}p|`) && k.includes('d16-alice'))).toBe(true);
    for (const g of gateways) {
      expect(await readiness(g)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { audit: 'ok', keys: 'ok', rateLimits: 'ok' } },
      });
      expect(await fallbackGauge(g)).toBe('0');
    }
  });

  it('D-15 Redis down: conservative per-instance limits, never none; shared limits again once it is back', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    const gateways = await cluster({ url: redis.url, prefix: 'pc:', perPrincipal: 4, n: 2, timeoutMs: 2000 });
    expect(await roundRobin(gateways, 'd15-before', 6)).toEqual([200, 200, 200, 200, 429, 429]);

    await redis.kill();
    // 4 per hour over 2 expected replicas: 2 per gateway, whichever it is, and still RC-19 after.
    for (const [i, g] of gateways.entries()) {
      expect(await roundRobin([g], `d15-down-${i}`, 5)).toEqual([200, 200, 429, 429, 429]);
      expect(await readiness(g)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { audit: 'ok', keys: 'ok', rateLimits: 'degraded' } },
      });
      expect(await fallbackGauge(g)).toBe('1');
      // One warning per outage, however many requests fell back.
      expect(g.logs.filter((l) => l.includes('rate-limit store unreachable'))).toHaveLength(1);
    }

    await redis.start();
    for (const g of gateways) {
      await eventually(async () => (await readiness(g)).body.checks.rateLimits === 'ok', 'the gateway back on Redis');
      expect(await fallbackGauge(g)).toBe('0');
      expect(g.logs.filter((l) => l.includes('rate-limit store reachable again'))).toHaveLength(1);
    }
    expect(await roundRobin(gateways, 'd15-after', 6)).toEqual([200, 200, 200, 200, 429, 429]);
    const restarted = adminClient(redis.url);
    try {
      expect((await restarted.keys('pc:p|*')).some((k) => k.includes('d15-after'))).toBe(true);
    } finally {
      restarted.disconnect();
    }
  });
});
