import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { MAX_SERIES, createPrometheusMetrics } from '../../src/observability/prometheus.js';
import { parsePrometheusText, sampleValue } from './promText.js';

async function scrape(m: ReturnType<typeof createPrometheusMetrics>) {
  const { contentType, body } = await m.render();
  return { contentType, exp: parsePrometheusText(body), body };
}

describe('Prometheus metrics', () => {
  it('renders valid exposition text with every portcullis family typed', async () => {
    const m = createPrometheusMetrics();
    const { contentType, exp } = await scrape(m);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    expect(Object.fromEntries([...exp.types].filter(([n]) => !/process|nodejs/.test(n)))).toEqual({
      portcullis_http_requests_total: 'counter',
      portcullis_http_request_duration_seconds: 'histogram',
      portcullis_tool_calls_total: 'counter',
      portcullis_tool_call_duration_seconds: 'histogram',
      portcullis_auth_failures_total: 'counter',
      portcullis_rate_limited_total: 'counter',
      portcullis_sessions_active: 'gauge',
      portcullis_sessions_opened_total: 'counter',
      portcullis_audit_write_duration_seconds: 'histogram',
      portcullis_audit_events_written_total: 'counter',
      portcullis_audit_queue_depth: 'gauge',
      portcullis_rate_limit_fallback: 'gauge',
    });
  });

  it('includes the default process metrics under the portcullis_ prefix, unless turned off', async () => {
    const on = await scrape(createPrometheusMetrics());
    expect(on.exp.types.get('portcullis_process_cpu_user_seconds_total')).toBe('counter');
    expect(on.exp.types.get('portcullis_nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect([...on.exp.types.keys()].every((n) => n.startsWith('portcullis_'))).toBe(true);
    const off = await scrape(createPrometheusMetrics({ collectDefault: false }));
    expect([...off.exp.types.keys()].some((n) => n.includes('process_') || n.includes('nodejs_'))).toBe(false);
  });

  it('moves counters as requests, tool calls, auth failures and rate-limit hits are reported', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    m.httpRequest('/mcp', 'POST', 200, 0.002);
    m.httpRequest('/mcp', 'POST', 200, 0.004);
    m.httpRequest('/mcp', 'POST', 401, 0.0001);
    m.toolCall('get_user_profile', 'ok', 0.01);
    m.toolCall('get_user_profile', 'denied', 0.001);
    m.authFailure('expired');
    m.authFailure('expired');
    m.rateLimited('principal');
    const { exp } = await scrape(m);
    const reqs = 'portcullis_http_requests_total';
    expect(sampleValue(exp, reqs, { route: '/mcp', method: 'POST', status: '200' })).toBe(2);
    expect(sampleValue(exp, reqs, { route: '/mcp', method: 'POST', status: '401' })).toBe(1);
    const calls = 'portcullis_tool_calls_total';
    expect(sampleValue(exp, calls, { tool: 'get_user_profile', outcome: 'ok' })).toBe(1);
    expect(sampleValue(exp, calls, { tool: 'get_user_profile', outcome: 'denied' })).toBe(1);
    expect(sampleValue(exp, 'portcullis_auth_failures_total', { reason: 'expired' })).toBe(2);
    expect(sampleValue(exp, 'portcullis_rate_limited_total', { scope: 'principal' })).toBe(1);

    m.toolCall('get_user_profile', 'ok', 0.02);
    const after = (await scrape(m)).exp;
    expect(sampleValue(after, calls, { tool: 'get_user_profile', outcome: 'ok' })).toBe(2);
  });

  it('fills histogram buckets, counts and sums (0.1 ms to 5 s for HTTP)', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    m.httpRequest('/mcp', 'POST', 200, 0.00005);
    m.httpRequest('/mcp', 'GET', 200, 0.003);
    m.httpRequest('/mcp', 'POST', 500, 7);
    const { exp } = await scrape(m);
    const h = 'portcullis_http_request_duration_seconds';
    const buckets = exp.samples.filter((s) => s.name === `${h}_bucket` && s.labels.route === '/mcp');
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.0001',
      '0.00025',
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '+Inf',
    ]);
    expect(sampleValue(exp, `${h}_bucket`, { route: '/mcp', le: '0.0001' })).toBe(1);
    expect(sampleValue(exp, `${h}_bucket`, { route: '/mcp', le: '0.005' })).toBe(2);
    expect(sampleValue(exp, `${h}_bucket`, { route: '/mcp', le: '5' })).toBe(2);
    expect(sampleValue(exp, `${h}_bucket`, { route: '/mcp', le: '+Inf' })).toBe(3);
    expect(sampleValue(exp, `${h}_count`, { route: '/mcp' })).toBe(3);
    expect(sampleValue(exp, `${h}_sum`, { route: '/mcp' })).toBeCloseTo(7.00305, 6);

    m.toolCall('t', 'ok', 12);
    m.auditWrite(0.0004, 16);
    m.auditWrite(0.0006, 4);
    m.auditQueueDepth(7);
    const e2 = (await scrape(m)).exp;
    expect(sampleValue(e2, 'portcullis_tool_call_duration_seconds_bucket', { tool: 't', le: '10' })).toBe(0);
    expect(sampleValue(e2, 'portcullis_tool_call_duration_seconds_bucket', { tool: 't', le: '30' })).toBe(1);
    expect(sampleValue(e2, 'portcullis_audit_write_duration_seconds_count')).toBe(2);
    expect(sampleValue(e2, 'portcullis_audit_write_duration_seconds_bucket', { le: '0.0005' })).toBe(1);
    expect(sampleValue(e2, 'portcullis_audit_events_written_total')).toBe(20);
    expect(sampleValue(e2, 'portcullis_audit_queue_depth')).toBe(7);
  });

  it('tracks active sessions per era and counts opened ones', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    m.sessionOpened('streamable');
    m.sessionOpened('streamable');
    m.sessionOpened('sse');
    m.sessionClosed('streamable');
    const { exp } = await scrape(m);
    expect(sampleValue(exp, 'portcullis_sessions_active', { era: 'streamable' })).toBe(1);
    expect(sampleValue(exp, 'portcullis_sessions_active', { era: 'sse' })).toBe(1);
    expect(sampleValue(exp, 'portcullis_sessions_opened_total', { era: 'streamable' })).toBe(2);
  });

  it('clamps route and method label values to fixed sets', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    m.httpRequest('/etc/passwd', 'GET', 404, 0.001);
    m.httpRequest('/mcp', 'PROPFIND', 405, 0.001);
    m.httpRequest('/mcp', 'GET', 1234, 0.001);
    const { exp } = await scrape(m);
    const reqs = 'portcullis_http_requests_total';
    expect(sampleValue(exp, reqs, { route: 'other', method: 'GET', status: '404' })).toBe(1);
    expect(sampleValue(exp, reqs, { route: '/mcp', method: 'other', status: '405' })).toBe(1);
    expect(sampleValue(exp, reqs, { route: '/mcp', method: 'GET', status: '0' })).toBe(1);
    expect(exp.samples.some((s) => Object.values(s.labels).includes('/etc/passwd'))).toBe(false);
  });

  it('folds label sets past MAX_SERIES into "other" as a cardinality backstop', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    for (let i = 0; i < MAX_SERIES + 50; i++) m.authFailure(`r${i}`);
    const { exp } = await scrape(m);
    const series = exp.samples.filter((s) => s.name === 'portcullis_auth_failures_total');
    expect(series).toHaveLength(MAX_SERIES + 1);
    expect(sampleValue(exp, 'portcullis_auth_failures_total', { reason: 'other' })).toBe(50);
  });

  it('never throws on odd durations or counts from the hot path', async () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    expect(() => {
      m.httpRequest('/mcp', 'POST', 200, Number.NaN);
      m.toolCall('t', 'ok', -1);
      m.toolCall('t', 'ok', Infinity);
      m.auditWrite(Number.NaN, -3);
      m.auditQueueDepth(-1);
    }).not.toThrow();
    const { exp } = await scrape(m);
    expect(sampleValue(exp, 'portcullis_tool_call_duration_seconds_count', { tool: 't' })).toBe(2);
    expect(sampleValue(exp, 'portcullis_audit_events_written_total')).toBe(0);
  });

  it('keeps two instances independent, each with its own registry', async () => {
    const a = createPrometheusMetrics();
    const b = createPrometheusMetrics();
    expect(a.registry).not.toBe(b.registry);
    a.authFailure('bad_signature');
    const ea = (await scrape(a)).exp;
    const eb = (await scrape(b)).exp;
    expect(sampleValue(ea, 'portcullis_auth_failures_total', { reason: 'bad_signature' })).toBe(1);
    expect(sampleValue(eb, 'portcullis_auth_failures_total', { reason: 'bad_signature' })).toBeUndefined();
  });

  it('registers into a registry it is given', async () => {
    const registry = new Registry();
    const m = createPrometheusMetrics({ registry, collectDefault: false });
    m.rateLimited('ip');
    expect(await registry.metrics()).toContain('portcullis_rate_limited_total{scope="ip"} 1');
  });

  it('costs well under 2 µs for one httpRequest + toolCall (benchmark, reported not asserted)', () => {
    const m = createPrometheusMetrics({ collectDefault: false });
    const tools = ['get_user_profile', 'list_invoices', 'delete_record'];
    const statuses = [200, 202, 401, 429];
    const run = (n: number): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        m.httpRequest('/mcp', 'POST', statuses[i & 3]!, 0.0012);
        m.toolCall(tools[i % 3]!, 'ok', 0.0008);
      }
      return Number(process.hrtime.bigint() - t0) / n;
    };
    run(50_000); // warm up the JIT and the child caches
    const ns = Math.min(run(200_000), run(200_000), run(200_000));
    console.log(`[bench] httpRequest + toolCall: ${ns.toFixed(0)} ns per pair`);
    expect(ns).toBeGreaterThan(0);
  });
});
