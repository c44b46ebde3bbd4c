/**
 * Liveness and readiness (`/healthz`, `/readyz`) and the `/metrics` route. `/healthz` only says
 * the process answers; `/readyz` says it can do its job: the audit sink accepts writes (tool calls
 * fail closed without it, SECURITY.md A.8) and verification keys are loaded. A check that throws
 * or hangs counts as failing, never as ready.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { baseHeaders, closeIfBody, sendJson } from '../http/respond.js';
import type { Metrics } from './metrics.js';

/** `degraded`: working, in a reduced mode that does not make the instance unready. */
export type CheckState = 'ok' | 'failing' | 'degraded';

/** What readiness depends on. */
export interface HealthChecks {
  /** The audit sink can take a write now. */
  readonly auditWritable: () => Promise<boolean>;
  /** Verification keys for every issuer are loaded. */
  readonly keysLoaded: () => boolean;
  /**
   * Shared rate-limit store (cluster mode only): `degraded` while the gateway limits on its own.
   * Reported as `rateLimits`, never failing: every replica shares the outage, and taking them all
   * out of the load balancer would turn a degraded limiter into no service (SEC-RL-04).
   */
  readonly rateLimitStore?: () => 'ok' | 'degraded';
}

export interface HealthOptions {
  /** A check still pending after this long counts as failing. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Told about a check that threw or timed out (for the log; the probe only sees `failing`). */
  readonly onCheckError?: (check: string, err: unknown) => void;
}

export interface Health {
  live(): { status: 'ok' };
  /** Runs every check; `ok` only if all pass. Never rejects. */
  ready(): Promise<{ ok: boolean; checks: Record<string, CheckState> }>;
}

/** Creates the liveness/readiness probe over the given checks (`audit`, `keys`). */
export function createHealth(checks: HealthChecks, opts: HealthOptions = {}): Health {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const run = async (name: string, check: () => boolean | Promise<boolean>): Promise<CheckState> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`check timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return (await Promise.race([check(), timeout])) === true ? 'ok' : 'failing';
    } catch (err) {
      opts.onCheckError?.(name, err);
      return 'failing';
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    live: () => ({ status: 'ok' }),
    async ready() {
      const [audit, keys] = await Promise.all([run('audit', checks.auditWritable), run('keys', checks.keysLoaded)]);
      const rateLimits = checks.rateLimitStore?.();
      return { ok: audit === 'ok' && keys === 'ok', checks: { audit, keys, ...(rateLimits && { rateLimits }) } };
    },
  };
}

/** The routes `handleHealthRoute` can serve. */
export type HealthRoute = '/healthz' | '/readyz' | '/metrics';
export const HEALTH_ROUTES: readonly HealthRoute[] = ['/healthz', '/readyz', '/metrics'];

export interface HealthRouteDeps {
  readonly health: Health;
  /** Source of `/metrics`; without it `/metrics` is not served here. */
  readonly metrics?: Pick<Metrics, 'render'>;
  /** The routes this listener serves (default all three); others fall through (`false`). */
  readonly routes?: readonly HealthRoute[];
}

/**
 * Serves `/healthz`, `/readyz` and `/metrics` (GET/HEAD; 405 with `Allow` otherwise). Resolves
 * `false` without touching `res` for any other path, so the caller answers it. A failing
 * `render()` rejects: the caller's generic 500 handles it.
 */
export async function handleHealthRoute(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  deps: HealthRouteDeps,
  requestId: string = randomUUID(),
): Promise<boolean> {
  const routes = deps.routes ?? HEALTH_ROUTES;
  if (!(routes as readonly string[]).includes(path)) return false;
  const metrics = deps.metrics;
  if (path === '/metrics' && !metrics) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, '{"error":"method_not_allowed"}', requestId, { allow: 'GET, HEAD', ...closeIfBody(req) });
  } else if (path === '/readyz') {
    const { ok, checks } = await deps.health.ready();
    sendJson(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks }), requestId);
  } else if (metrics && path === '/metrics') {
    const { contentType, body } = await metrics.render();
    if (res.headersSent) res.end();
    else {
      res.writeHead(
        200,
        baseHeaders(requestId, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }),
      );
      res.end(body);
    }
  } else {
    // '/healthz': the only route left.
    sendJson(res, 200, JSON.stringify(deps.health.live()), requestId);
  }
  return true;
}
