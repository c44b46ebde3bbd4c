import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth, handleHealthRoute } from '../../src/observability/health.js';
import type { HealthRouteDeps } from '../../src/observability/health.js';
import { createPrometheusMetrics } from '../../src/observability/prometheus.js';
import { parsePrometheusText, sampleValue } from './promText.js';

const healthy = { auditWritable: () => Promise.resolve(true), keysLoaded: () => true };

describe('createHealth', () => {
  it('is live and ready when the audit sink is writable and keys are loaded', async () => {
    const h = createHealth(healthy);
    expect(h.live()).toEqual({ status: 'ok' });
    expect(await h.ready()).toEqual({ ok: true, checks: { audit: 'ok', keys: 'ok' } });
  });

  it('is not ready when the audit sink cannot be written', async () => {
    const h = createHealth({ ...healthy, auditWritable: () => Promise.resolve(false) });
    expect(await h.ready()).toEqual({ ok: false, checks: { audit: 'failing', keys: 'ok' } });
  });

  it('is not ready when keys are not loaded', async () => {
    const h = createHealth({ ...healthy, keysLoaded: () => false });
    expect(await h.ready()).toEqual({ ok: false, checks: { audit: 'ok', keys: 'failing' } });
  });

  it('counts a check that throws, rejects or hangs as failing, and reports why', async () => {
    const errors: string[] = [];
    const h = createHealth(
      {
        auditWritable: () => new Promise<boolean>(() => undefined),
        keysLoaded: () => {
          throw new Error('boom');
        },
      },
      { timeoutMs: 20, onCheckError: (check, err) => errors.push(`${check}: ${(err as Error).message}`) },
    );
    expect(await h.ready()).toEqual({ ok: false, checks: { audit: 'failing', keys: 'failing' } });
    expect(errors.sort()).toEqual(['audit: check timed out after 20 ms', 'keys: boom']);
    const rejecting = createHealth({ ...healthy, auditWritable: () => Promise.reject(new Error('disk full')) });
    expect((await rejecting.ready()).checks.audit).toBe('failing');
  });
});

describe('handleHealthRoute', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A bare HTTP server that answers with handleHealthRoute, or 418 when it falls through. */
  async function serve(deps: HealthRouteDeps): Promise<string> {
    const srv = createServer((req, res) => {
      void handleHealthRoute(req.url ?? '/', req, res, deps, 'req-1').then((handled) => {
        if (!handled) res.writeHead(418).end();
      });
    });
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  }

  it('answers /healthz with {"status":"ok"} and the safe headers', async () => {
    const url = await serve({ health: createHealth(healthy) });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toBe('req-1');
  });

  it('answers /readyz 200 "ready" or 503 "not_ready" with the checks', async () => {
    let writable = true;
    const health = createHealth({ ...healthy, auditWritable: () => Promise.resolve(writable) });
    const url = await serve({ health });
    const ok = await fetch(`${url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready', checks: { audit: 'ok', keys: 'ok' } });
    writable = false;
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'not_ready', checks: { audit: 'failing', keys: 'ok' } });
    expect(down.headers.get('cache-control')).toBe('no-store');
  });

  it('serves /metrics as Prometheus text with its content type', async () => {
    const metrics = createPrometheusMetrics({ collectDefault: false });
    metrics.authFailure('expired');
    const url = await serve({ health: createHealth(healthy), metrics });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const exp = parsePrometheusText(await res.text());
    expect(sampleValue(exp, 'portcullis_auth_failures_total', { reason: 'expired' })).toBe(1);
  });

  it('answers HEAD without a body and other methods with 405 and Allow', async () => {
    const url = await serve({ health: createHealth(healthy) });
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${url}/readyz`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toEqual({ error: 'method_not_allowed' });
  });

  it('leaves other paths, unlisted routes and /metrics without a source to the caller', async () => {
    const url = await serve({ health: createHealth(healthy), routes: ['/healthz'] });
    expect((await fetch(`${url}/mcp`)).status).toBe(418);
    expect((await fetch(`${url}/readyz`)).status).toBe(418);
    expect((await fetch(`${url}/metrics`)).status).toBe(418);
    expect((await fetch(`${url}/healthz/`)).status).toBe(418);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
