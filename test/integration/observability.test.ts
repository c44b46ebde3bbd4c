/** /metrics, /healthz and /readyz on a real gateway, and the separate admin listener. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { parsePrometheusText } from '../observability/promText.js';
import { initialize2025, postModern } from './support.js';

let g: TestGateway;

beforeAll(async () => {
  g = await startGateway();
});
afterAll(async () => {
  await g.close();
});

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheusText(await res.text());
}

function value(
  samples: ReturnType<typeof parsePrometheusText>['samples'],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function callTool(token: string, id: number): Promise<void> {
  const res = await postModern(
    g.mcpUrl,
    token,
    'tools/call',
    { name: 'get_user_profile', arguments: { userId: 'alice' } },
    { id },
  );
  expect(res.status).toBe(200);
  await res.text();
}

describe('metrics', () => {
  it('counts requests, tool calls and auth failures as they happen', async () => {
    const before = await scrape(g.url);
    const token = await g.token('alice');
    await callTool(token, 1);
    await callTool(token, 2);
    await (await fetch(g.mcpUrl, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' })).text();
    const after = await scrape(g.url);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after.samples, name, labels) - value(before.samples, name, labels);
    expect(delta('portcullis_tool_calls_total', { tool: 'get_user_profile', outcome: 'ok' })).toBe(2);
    expect(delta('portcullis_http_requests_total', { route: '/mcp', status: '200' })).toBe(2);
    expect(delta('portcullis_auth_failures_total')).toBe(1);
    expect(delta('portcullis_tool_call_duration_seconds_count', { tool: 'get_user_profile' })).toBe(2);
    expect(after.types.get('portcullis_http_request_duration_seconds')).toBe('histogram');
    expect(value(after.samples, 'portcullis_audit_events_written_total')).toBeGreaterThan(0);
  });

  it('tracks active sessions by era', async () => {
    const token = await g.token('bob');
    const res = await initialize2025(g.mcpUrl, token);
    await res.text();
    const sid = res.headers.get('mcp-session-id')!;
    expect(value((await scrape(g.url)).samples, 'portcullis_sessions_active', { era: 'streamable' })).toBe(1);
    await (
      await fetch(g.mcpUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sid } })
    ).text();
    expect(value((await scrape(g.url)).samples, 'portcullis_sessions_active', { era: 'streamable' })).toBe(0);
  });
});

describe('health', () => {
  it('is live and ready', async () => {
    expect(await (await fetch(`${g.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${g.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { audit: 'ok', keys: 'ok' } });
  });
});

describe('admin listener', () => {
  it('serves /metrics and /readyz on the admin port only', async () => {
    const adminPort = await freePort();
    const a = await startGateway({ extraYaml: `observability:\n  admin: { port: ${adminPort} }` });
    try {
      const admin = `http://127.0.0.1:${adminPort}`;
      expect((await fetch(`${admin}/metrics`)).status).toBe(200);
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);
      expect((await fetch(`${a.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${admin}/mcp`)).status).toBe(404);
    } finally {
      await a.close();
    }
  });
});
