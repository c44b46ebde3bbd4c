/**
 * What the transports share: the dependencies of MCP request handling, and one authenticated
 * HTTP request on its way through them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuditTrail } from '../audit/types.js';
import type { Principal } from '../auth/principal.js';
import type { Metrics } from '../observability/metrics.js';
import type { SessionRegistry } from '../session/registry.js';
import type { Dispatcher } from './dispatch.js';
import type { StructureLimits } from './jsonrpc.js';

export interface TransportDeps {
  readonly registry: SessionRegistry;
  readonly audit: AuditTrail;
  readonly metrics: Metrics;
  readonly dispatch: Dispatcher;
  readonly log: Logger;
  readonly limits: StructureLimits;
  readonly bodyLimitBytes: number;
  /** Cap on bytes buffered for a slow SSE reader before the stream is dropped (SEC-SES-09). */
  readonly sseBufferLimitBytes: number;
  readonly keepAliveMs: number;
}

export interface AuthedRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly principal: Principal;
  /** Correlation id: in logs, in the `X-Request-Id` header and in error texts. */
  readonly requestId: string;
  /** The raw query string (without `?`). */
  readonly query: string;
  /** Client address (socket peer, or from a trusted proxy). */
  readonly ip: string;
}
