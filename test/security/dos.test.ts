/**
 * SECURITY.md B.5 — denial of service and rate-limit bypass (D- rows), plus the notification
 * budget (V-31), on real gateways configured with small limits and a settable clock so that each
 * case takes a handful of requests. Each asserts RC-19 exactly (429, `Retry-After`, JSON-RPC
 * -32000 with the request id once parsed) and who was limited. Slowloris and slow readers
 * (D-01, D-02, D-04) are in raw-socket.test.ts.
 */
import { gzipSync } from 'node:zlib';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical.js';
import { storedEvents } from '../audit/helpers.js';
import type { PrincipalName } from '../helpers/gateway.js';
import { initialize2025, modernHeaders, modernParams, postModern } from '../integration/support.js';
import { openGate, startRawGateway, toolState } from './support/raw.js';
import type { RawGateway } from './support/raw.js';
import { openSession, rpcOn } from './support/session.js';

const INSTANCE = 'sec-dos';
const RATE_LIMITED = { code: -32000, message: 'Rate limit exceeded' };

let g: RawGateway;
let clock = Date.now();

beforeAll(async () => {
  g = await startRawGateway({
    now: () => clock,
    extraYaml: `audit:
  instance: ${INSTANCE}
limits:
  perIp: { requests: 10, windowSec: 60 }
  perPrincipal: { requests: 5, windowSec: 60 }
  notificationsPerPrincipal: { requests: 5, windowSec: 60 }
  concurrentPerPrincipal: 2`,
  });
});
afterAll(async () => {
  await g?.close();
});
// Every test starts with fresh windows (the limiter reads the same clock).
beforeEach(() => {
  clock += 120_000;
});

/** A token valid at the gateway's clock (tokens minted on the wall clock would expire as it moves). */
function token(gw: RawGateway, name: PrincipalName | { sub: string }, claims: Record<string, unknown> = {}) {
  const iat = Math.floor(clock / 1000);
  const base = { iat, exp: iat + 900, ...claims };
  if (typeof name === 'string') return gw.token(name, base);
  return gw.token('alice', { sub: name.sub, ...base });
}

/** RC-19: 429, `Retry-After` ≥ 1, and exactly the rate-limit error with `id`. */
async function expectRateLimited(res: Response, id: string | number | null): Promise<void> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await res.json()).toEqual({ jsonrpc: '2.0', id, error: RATE_LIMITED });
}

async function auditEvents(gw: RawGateway, instance = INSTANCE): Promise<ReturnType<typeof storedEvents>> {
  await gw.gateway.audit.commit({ event: 'config.loaded', reason: 'test flush' });
  return storedEvents(gw.auditFile, instance);
}

/** `Mcp-Name` as the 2026 base64 sentinel, so that any string (spaces, non-ASCII) travels intact. */
function nameHeader(name: string): string {
  return `=?base64?${Buffer.from(name, 'utf8').toString('base64')}?=`;
}

describe('B.5 denial of service and rate-limit bypass', () => {
  it('D-07 a fresh token per request buys no budget: still 429 for the same (iss, sub, tenant)', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 7; i++) {
      const res = await postModern(g.mcpUrl, await token(g, 'dave', { jti: `d07-${i}` }), 'tools/list', {}, { id: i });
      statuses.push(res.status);
      if (i === 6) await expectRateLimited(res, 6);
      else await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it('D-08 a random X-Forwarded-For sent straight to the gateway is ignored: the per-IP limit still hits', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      // A new principal each time, so that only the per-IP budget (10) can run out.
      const res = await postModern(
        g.mcpUrl,
        await token(g, { sub: `d08-${i}` }),
        'tools/list',
        {},
        {
          id: i,
          headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.${i}` },
        },
      );
      statuses.push(res.status);
      if (i === 10)
        await expectRateLimited(res, null); // refused before the body is read
      else await res.text();
    }
    expect(statuses).toEqual([...new Array(10).fill(200), 429]);
    const limited = (await auditEvents(g)).filter((e) => e.event === 'rate.limited' && e.reason === 'ip');
    expect(limited.at(-1)?.ip).toBe('127.0.0.1');
  });

  it('D-08 behind a trusted proxy, the rightmost untrusted hop is the client, whatever is prepended', async () => {
    const proxied = await startRawGateway({
      server: '  trustedProxies: [127.0.0.1]',
      extraYaml: 'audit:\n  instance: sec-dos-proxy\nlimits:\n  perIp: { requests: 3, windowSec: 60 }',
    });
    try {
      const send = async (xff: string, i: number) =>
        postModern(
          proxied.mcpUrl,
          await proxied.token('alice', { jti: `p${i}` }),
          'tools/list',
          {},
          {
            id: i,
            headers: { 'x-forwarded-for': xff },
          },
        );
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        // The attacker writes the left part; the proxy appends the address it saw.
        const res = await send(`10.${i}.${i}.${i}, 192.0.2.${i}, 203.0.113.9`, i);
        statuses.push(res.status);
        await res.text();
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      // Another real client behind the same proxy has its own budget.
      const other = await send('203.0.113.9, 203.0.113.10', 9);
      expect(other.status).toBe(200);
      await other.text();
      const limited = (await auditEvents(proxied, 'sec-dos-proxy')).filter((e) => e.event === 'rate.limited');
      expect(limited.map((e) => e.ip)).toEqual(['203.0.113.9']);
    } finally {
      await proxied.close();
    }
  });

  it('D-09 tool-name variants are unknown tools and still spend the principal budget', async () => {
    const bob = await token(g, 'bob');
    const variants = ['Get_user_profile', 'get_user_profile ', 'ｇｅｔ_user_profile'];
    for (const [i, name] of variants.entries()) {
      const res = await fetch(g.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(bob, 'tools/call', { 'mcp-name': nameHeader(name) }),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: modernParams({ name, arguments: { userId: 'bob' } }),
        }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ jsonrpc: '2.0', id: i, error: { code: -32602, message: 'Unknown tool' } });
    }
    const call = (id: number) =>
      postModern(g.mcpUrl, bob, 'tools/call', { name: 'get_user_profile', arguments: { userId: 'bob' } }, { id });
    for (const id of [10, 11]) {
      const res = await call(id);
      expect(res.status).toBe(200);
      await res.text();
    }
    await expectRateLimited(await call(12), 12);
  });

  it('D-12 concurrent long calls from one principal: the in-flight cap answers 429, the rest run', async () => {
    const carol = await token(g, 'carol');
    const started = toolState().slowStarted;
    const answers: Response[] = [];
    const calls = [1, 2, 3, 4, 5].map((id) =>
      postModern(g.mcpUrl, carol, 'tools/call', { name: 'sec_slow', arguments: {} }, { id }).then((res) => {
        answers.push(res);
        return res;
      }),
    );
    await waitFor(() => toolState().slowStarted === started + 2 && answers.length === 3);
    for (const res of answers) {
      expect(res.headers.get('retry-after')).toBe('1');
      await expectRateLimited(res, ((await res.clone().json()) as { id: number }).id);
    }
    openGate();
    const all = await Promise.all(calls);
    expect(all.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    expect(toolState().slowStarted).toBe(started + 2);
    const denied = (await auditEvents(g)).filter((e) => e.user === 'carol' && e.event === 'tool.denied');
    expect(denied.map((e) => e.reason)).toEqual([
      'rate_limited_concurrency',
      'rate_limited_concurrency',
      'rate_limited_concurrency',
    ]);
  });

  it('D-18 a gzip-encoded body (a zip bomb) is refused with 415 and never inflated', async () => {
    const before = toolState().probe;
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const res = await fetch(g.mcpUrl, {
      method: 'POST',
      headers: modernHeaders(await token(g, 'alice'), 'tools/call', {
        'mcp-name': 'sec_probe',
        'content-encoding': 'gzip',
      }),
      body: bomb,
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' },
    });
    expect(toolState().probe).toBe(before);
  });

  it('D-19 maximum-size arguments and names are stored capped, with a digest of the whole', async () => {
    const carol = await token(g, 'carol');
    const session = await openSession(g.mcpUrl, carol);
    const blob = 'b'.repeat(900_000);
    const ok = await rpcOn(
      g.mcpUrl,
      carol,
      session,
      'tools/call',
      { name: 'sec_probe', arguments: { flag: true, blob } },
      1,
    );
    expect(await ok.json()).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'probed' }] } });
    const long = 'n'.repeat(100_000);
    const unknown = await rpcOn(g.mcpUrl, carol, session, 'tools/call', { name: long, arguments: { blob } }, 2);
    expect(await unknown.json()).toEqual({ jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'Unknown tool' } });
    const events = (await auditEvents(g)).filter((e) => e.user === 'carol');
    const called = events.find((e) => e.event === 'tool.called' && e.tool === 'sec_probe');
    expect(called).toBeDefined();
    expect(called!.arguments!.length).toBeLessThanOrEqual(8 * 1024 + 32);
    expect(called!.arguments).toMatch(/…\[truncated \d+\]$/);
    expect(called!.argumentsDigest).toBe(sha256Hex(canonicalJson({ flag: true, blob })));
    const denied = events.find((e) => e.event === 'tool.denied' && e.reason === 'unknown_tool');
    expect(denied?.tool?.length).toBeLessThanOrEqual(1024 + 32);
    for (const e of events) expect(JSON.stringify(e).length).toBeLessThan(16 * 1024);
  });

  it('V-31 notifications have their own budget: 429 once it is spent, requests unaffected', async () => {
    const alice = await token(g, 'alice');
    const notify = () =>
      fetch(g.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(alice, 'notifications/cancelled'),
        body: JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: modernParams({ requestId: 1, reason: 'flood' }),
        }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await notify();
      statuses.push(res.status);
      if (i === 5) await expectRateLimited(res, null);
      else await res.text();
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429]);
    const list = await postModern(g.mcpUrl, alice, 'tools/list', {}, { id: 99 });
    expect(list.status).toBe(200);
    await list.text();
  });
});

describe('D-05 session exhaustion', () => {
  let s: RawGateway;
  beforeAll(async () => {
    s = await startRawGateway({
      now: () => clock,
      sessions: { maxPerPrincipal: 3, idleTimeoutSec: 60 },
      extraYaml:
        'limits:\n  perIp: { requests: 100000, windowSec: 60 }\n  perTenant: { requests: 100000, windowSec: 60 }',
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('D-05 per-principal cap → 429, unauthenticated initialize → 401 with no state, memory back to baseline after the TTL', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    gc();
    const baseHeap = process.memoryUsage().heapUsed;
    const baseTimers = timers();
    expect(s.gateway.sessions.size).toBe(0);

    const alice = await token(s, 'alice');
    for (let i = 0; i < 3; i++) {
      const res = await initialize2025(s.mcpUrl, alice);
      expect(res.status).toBe(200);
      await res.text();
    }
    for (let i = 0; i < 10; i++) {
      const res = await initialize2025(s.mcpUrl, alice);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('mcp-session-id')).toBeNull();
      expect(await res.json()).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32000, message: 'Too many sessions' },
      });
    }
    expect(s.gateway.sessions.size).toBe(3);

    for (let i = 0; i < 50; i++) {
      const res = await fetch(s.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
        }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('mcp-session-id')).toBeNull();
      await res.text();
    }
    expect(s.gateway.sessions.size).toBe(3);

    // Churn: many principals, one session each, then nothing but time.
    const churn = 600;
    for (let i = 0; i < churn; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const res = await initialize2025(s.mcpUrl, await token(s, { sub: `churn-${i + j}` }));
          expect(res.status).toBe(200);
          await res.text();
        }),
      );
    }
    expect(s.gateway.sessions.size).toBe(3 + churn);

    clock += 61_000;
    s.gateway.sessions.sweep(); // what the registry's own timer does every idleTimeout/4
    expect(s.gateway.sessions.size).toBe(0);
    gc();
    // Generous bounds: a leak of every session would keep far more; this is no timing check.
    expect(process.memoryUsage().heapUsed - baseHeap).toBeLessThan(32 * 1024 * 1024);
    expect(timers()).toBeLessThanOrEqual(baseTimers + 5);
  }, 60_000);
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}
