/**
 * Rate limits on a real gateway (SEC-RL-01/02, issue "production hardening"): a looping agent is
 * stopped with 429 + Retry-After and resumes after the window; more sessions do not buy more
 * budget; a spoofed X-Forwarded-For does not change who is limited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { initialize2025, postModern } from './support.js';

let g: TestGateway;
let clock = Date.now();

beforeAll(async () => {
  g = await startGateway({
    now: () => clock,
    extraYaml: `limits:
  perPrincipal: { requests: 5, windowSec: 60 }
  perPrincipalTool: { requests: 3, windowSec: 60 }
  perIp: { requests: 1000, windowSec: 60 }`,
  });
});
afterAll(async () => {
  await g.close();
});

function call(token: string, id: number, headers: Record<string, string> = {}): Promise<Response> {
  return postModern(
    g.mcpUrl,
    token,
    'tools/call',
    { name: 'get_user_profile', arguments: { userId: 'alice' } },
    { id, headers },
  );
}

describe('rate limits', () => {
  it('stops a loop of calls with 429, Retry-After and the request id, then resumes after the window', async () => {
    const token = await g.token('alice');
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 1; i <= 5; i++) {
      const res = await call(token, i);
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
      else await res.text();
    }
    // perPrincipalTool allows 3 calls; the 4th and 5th are refused for this tool.
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited!.json()).toMatchObject({ id: 4, error: { code: -32000, message: 'Rate limit exceeded' } });
    clock += 61_000;
    expect((await call(token, 6)).status).toBe(200);
  });

  it('does not give more budget to a principal that opens more sessions or refreshes its token', async () => {
    clock += 120_000;
    let allowed = 0;
    for (let i = 0; i < 8; i++) {
      // A fresh token (new jti) each time, and a new 2025 session each time.
      const token = await g.token('bob', { jti: `t${i}` });
      const res = await initialize2025(g.mcpUrl, token);
      await res.text();
      if (res.status === 200) allowed++;
      else expect(res.status).toBe(429);
    }
    expect(allowed).toBe(5);
  });

  it('D-08 a spoofed X-Forwarded-For neither escapes the principal limit nor another IP budget', async () => {
    clock += 120_000;
    const token = await g.token('carol');
    const statuses: number[] = [];
    for (let i = 1; i <= 7; i++) {
      const res = await call(token, i, { 'x-forwarded-for': `198.51.100.${i}` });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  });
});

describe('per-IP limit before authentication', () => {
  it('caps a flood of bad tokens from one address with 429', async () => {
    const flood = await startGateway({ extraYaml: 'limits:\n  perIp: { requests: 5, windowSec: 60 }' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(flood.mcpUrl, {
          method: 'POST',
          headers: {
            authorization: 'Bearer x.y.z',
            'content-type': 'application/json',
            'x-forwarded-for': `203.0.113.${i}`,
          },
          body: '{}',
        });
        statuses.push(res.status);
        await res.text();
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
    } finally {
      await flood.close();
    }
  });
});
