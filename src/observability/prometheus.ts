/**
 * The `Metrics` the pipeline reports to (observability/metrics.ts), exposed in the Prometheus
 * text format through prom-client. Each gateway gets its own `Registry` (never the global one),
 * so several gateways in one process — the test suite — never collide.
 *
 * Label values are bounded (an unbounded label is a memory DoS on the gateway and on the
 * scraper): `route` and `method` are clamped to fixed sets here; `tool` must be the name of a
 * configured tool and `reason`/`scope`/`outcome`/`era` internal codes — the caller guarantees
 * that, never passing client-supplied text. As a backstop, a family that somehow reaches
 * `MAX_SERIES` label sets folds further new ones into `other`.
 *
 * The hot path runs on every request, so label-bound children are cached in Maps keyed by the
 * label tuple: one Map lookup per call instead of prom-client's `labels()` validation.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics } from './metrics.js';

/** The only `route` label values; anything else is reported as `other`. */
export const METRIC_ROUTES: ReadonlySet<string> = new Set([
  '/mcp',
  '/mcp/sse',
  '/mcp/messages',
  '/healthz',
  '/readyz',
  '/metrics',
  '/.well-known/oauth-protected-resource',
  'other',
]);
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** HTTP and audit latency buckets (seconds): 0.1 ms to 5 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Tool call buckets (seconds): 0.5 ms up to the default 30 s tool timeout. */
export const TOOL_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Distinct label sets per family before new ones are folded into `other`. */
export const MAX_SERIES = 10_000;

export interface PrometheusMetricsOptions {
  /** Registry to register into (default: a fresh one, private to this instance). */
  readonly registry?: Registry;
  /** Also collect prom-client's process metrics (CPU, memory, event loop, GC). Default true. */
  readonly collectDefault?: boolean;
}

/** A `Metrics` backed by prom-client, with the registry it renders. */
export type PrometheusMetrics = Metrics & { readonly registry: Registry };

/** A counter child with increments not yet handed to prom-client (flushed at scrape time). */
interface Tally {
  n: number;
  readonly child: { inc(value: number): void };
}
interface Timed extends Tally {
  readonly duration: { observe(value: number): void };
}

/** Map key of the shared series that label sets past `MAX_SERIES` fold into. */
const OVERFLOW = '\u0000overflow';

/** Looks a label tuple up, binding (and caching) its children on first sight. */
function cached<R>(map: Map<string, R>, key: string, bind: (overflow: boolean) => R): R {
  let r = map.get(key);
  if (r === undefined) {
    const overflow = map.size >= MAX_SERIES;
    if (overflow) r = map.get(OVERFLOW);
    if (r === undefined) {
      r = bind(overflow);
      map.set(overflow ? OVERFLOW : key, r);
    }
  }
  return r;
}

/** Hands pending increments to prom-client; runs as the counter's `collect` hook. */
function flush(map: Map<string, Tally>): void {
  for (const t of map.values()) {
    if (t.n > 0) {
      t.child.inc(t.n);
      t.n = 0;
    }
  }
}

/** A duration prom-client accepts: NaN, negative (clock step) and infinite become 0. */
function secs(s: number): number {
  return s > 0 && s < Infinity ? s : 0;
}

/**
 * Creates the Prometheus-backed metrics. Every metric is named `portcullis_*`; the default
 * process metrics share the prefix. Call once per gateway.
 *
 * Counters on the hot path only bump a number in their cached record; the record is handed to
 * prom-client by the counter's `collect` hook when the registry renders, so a scrape always sees
 * every increment made before it.
 */
export function createPrometheusMetrics(opts: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];
  const http = new Map<string, Timed>();
  const httpByRoute = new Map<string, Timed['duration']>();
  const tools = new Map<string, Timed>();
  const toolsByName = new Map<string, Timed['duration']>();
  const auth = new Map<string, Tally>();
  const limited = new Map<string, Tally>();
  const sessions = new Map<string, Tally & { readonly active: Gauge.Internal<'era'> }>();

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], m: Map<string, Tally>) =>
    new Counter<L>({ name: `portcullis_${name}`, help, labelNames, registers, collect: () => flush(m) });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], b: readonly number[]) =>
    new Histogram<L>({ name: `portcullis_${name}`, help, labelNames, buckets: [...b], registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name: `portcullis_${name}`, help, labelNames, registers });

  const httpTotal = counter('http_requests_total', 'HTTP requests answered', ['route', 'method', 'status'], http);
  const httpSeconds = histogram('http_request_duration_seconds', 'HTTP answer latency', ['route'], LATENCY_BUCKETS);
  const toolTotal = counter('tool_calls_total', 'tools/call requests finished', ['tool', 'outcome'], tools);
  const toolSeconds = histogram('tool_call_duration_seconds', 'tools/call latency', ['tool'], TOOL_BUCKETS);
  const authFailures = counter('auth_failures_total', 'Authentication failures', ['reason'], auth);
  const rateLimited = counter('rate_limited_total', 'Requests refused by a rate/concurrency limit', ['scope'], limited);
  const sessionsActive = gauge('sessions_active', 'Sessions currently open', ['era']);
  const sessionsOpened = counter('sessions_opened_total', 'Sessions opened', ['era'], sessions);
  const auditSeconds = histogram('audit_write_duration_seconds', 'Audit batch write latency', [], LATENCY_BUCKETS);
  const auditEvents = new Counter({
    name: 'portcullis_audit_events_written_total',
    help: 'Audit events written',
    registers,
  });
  const auditQueue = gauge('audit_queue_depth', 'Audit events waiting to be written', []);
  const rlFallback = gauge('rate_limit_fallback', '1 while the shared rate-limit store is out of reach', []);
  if (opts.collectDefault ?? true) collectDefaultMetrics({ register: registry, prefix: 'portcullis_' });

  const tally = (m: Map<string, Tally>, label: string, c: Counter<string>): void => {
    cached(m, label, (over) => ({ n: 0, child: c.labels(over ? 'other' : label) })).n++;
  };
  const session = (era: string) =>
    cached(sessions, era, (over) => {
      const e = over ? 'other' : era;
      return { n: 0, child: sessionsOpened.labels(e), active: sessionsActive.labels(e) };
    });

  return {
    registry,
    httpRequest(route, method, status, seconds) {
      const t = http.get(`${route} ${method} ${status}`) ?? bindHttp(route, method, status);
      t.n++;
      t.duration.observe(secs(seconds));
    },
    toolCall(tool, outcome, seconds) {
      const t = tools.get(`${tool}\0${outcome}`) ?? bindTool(tool, outcome);
      t.n++;
      t.duration.observe(secs(seconds));
    },
    authFailure: (reason) => tally(auth, reason, authFailures),
    rateLimited: (scope) => tally(limited, scope, rateLimited),
    sessionOpened(era) {
      const s = session(era);
      s.active.inc();
      s.n++;
    },
    sessionClosed(era) {
      session(era).active.dec();
    },
    auditWrite(seconds, events) {
      auditSeconds.observe(secs(seconds));
      if (events > 0) auditEvents.inc(events);
    },
    auditQueueDepth(events) {
      auditQueue.set(events >= 0 ? events : 0);
    },
    rateLimitFallback(active) {
      rlFallback.set(active ? 1 : 0);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };

  // Cache misses: clamp the labels and bind the children once. The raw tuple is the cache key,
  // so even an out-of-set value costs one Map entry, and no more than MAX_SERIES of them.
  function bindHttp(route: string, method: string, status: number): Timed {
    return cached(http, `${route} ${method} ${status}`, (over) => {
      const r = !over && METRIC_ROUTES.has(route) ? route : 'other';
      const m = !over && METHODS.has(method) ? method : 'other';
      const s = !over && Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : '0';
      const duration = cached(httpByRoute, r, () => httpSeconds.labels(r));
      return { n: 0, child: httpTotal.labels(r, m, s), duration };
    });
  }

  function bindTool(tool: string, outcome: string): Timed {
    return cached(tools, `${tool}\0${outcome}`, (over) => {
      const name = over ? 'other' : tool;
      const duration = cached(toolsByName, name, (o) => toolSeconds.labels(o ? 'other' : name));
      return { n: 0, child: toolTotal.labels(name, over ? 'other' : outcome), duration };
    });
  }
}
