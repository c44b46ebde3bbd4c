import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/observability/admin.js';
import type { AdminServer } from '../../src/observability/admin.js';
import { createHealth, handleHealthRoute } from '../../src/observability/health.js';
import { createPrometheusMetrics } from '../../src/observability/prometheus.js';
import { parsePrometheusText, sampleValue } from './promText.js';

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function adminWithMetrics() {
  const metrics = createPrometheusMetrics({ collectDefault: false });
  const deps = {
    health: createHealth({ auditWritable: () => Promise.resolve(true), keysLoaded: () => true }),
    metrics,
  };
  const admin = createAdminServer({
    port: 0,
    handle: (path, req, res, requestId) => handleHealthRoute(path, req, res, deps, requestId),
  });
  servers.push(admin);
  return { admin, metrics };
}

describe('admin server', () => {
  it('binds 127.0.0.1 by default and serves /metrics, /readyz and /healthz', async () => {
    const { admin, metrics } = adminWithMetrics();
    const { url, port } = await admin.listen();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    metrics.httpRequest('/mcp', 'POST', 200, 0.001);
    const res = await fetch(`${url}/metrics?x=1`);
    expect(res.status).toBe(200);
    const exp = parsePrometheusText(await res.text());
    expect(sampleValue(exp, 'portcullis_http_requests_total', { route: '/mcp', status: '200' })).toBe(1);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers any other path with a JSON 404', async () => {
    const { admin } = adminWithMetrics();
    const { url } = await admin.listen();
    for (const path of ['/', '/mcp', '/metrics/x', '/.well-known/oauth-protected-resource']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found' });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('turns a handler failure into a generic 500 with the request id, without the detail', async () => {
    const seen: unknown[] = [];
    const admin = createAdminServer({
      port: 0,
      handle: () => Promise.reject(new Error('secret internals at /var/lib/x')),
      onError: (err) => seen.push(err),
    });
    servers.push(admin);
    const { url } = await admin.listen();
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ error: 'internal_error', requestId: res.headers.get('x-request-id') });
    expect(seen).toHaveLength(1);
  });

  it('closes cleanly, even with a keep-alive connection open, and twice', async () => {
    const { admin } = adminWithMetrics();
    const { url } = await admin.listen();
    expect((await fetch(`${url}/healthz`)).status).toBe(200); // leaves a keep-alive socket
    await admin.close();
    await admin.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('closes without having listened', async () => {
    const { admin } = adminWithMetrics();
    await expect(admin.close()).resolves.toBeUndefined();
  });

  it('reports a port in use as PORTCULLIS_E_LISTEN', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const admin = createAdminServer({ port, handle: () => Promise.resolve(false) });
      servers.push(admin);
      await expect(admin.listen()).rejects.toMatchObject({ code: 'PORTCULLIS_E_LISTEN' });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
