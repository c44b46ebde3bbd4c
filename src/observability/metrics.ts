/**
 * The gateway's metrics, as the pipeline reports them. The implementation (Prometheus text
 * format at /metrics) lives in observability/prometheus.ts; `noMetrics` is used when
 * `observability.metrics` is off.
 */

export interface Metrics {
  /** One HTTP request answered: route (`/mcp`, `/mcp/sse`, …), method, status, duration. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** One `tools/call` finished: outcome `ok` | `error` | `denied`. */
  toolCall(tool: string, outcome: string, seconds: number): void;
  authFailure(reason: string): void;
  /** scope: `ip` | `principal` | `tenant` | `tool` | `principal_tool` | `concurrency` | `notifications` | `sessions`. */
  rateLimited(scope: string): void;
  /** era: `streamable` | `sse`. */
  sessionOpened(era: string): void;
  sessionClosed(era: string): void;
  auditWrite(seconds: number, events: number): void;
  auditQueueDepth(events: number): void;
  /** Cluster mode: the shared rate-limit store is out of reach and local limits apply (1) or not (0). */
  rateLimitFallback(active: boolean): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export const noMetrics: Metrics = {
  httpRequest: () => undefined,
  toolCall: () => undefined,
  authFailure: () => undefined,
  rateLimited: () => undefined,
  sessionOpened: () => undefined,
  sessionClosed: () => undefined,
  auditWrite: () => undefined,
  auditQueueDepth: () => undefined,
  rateLimitFallback: () => undefined,
  render: () => Promise.resolve({ contentType: 'text/plain; charset=utf-8', body: '' }),
};
