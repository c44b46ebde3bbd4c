/**
 * The request pipeline, top to bottom (DESIGN "Request pipeline"):
 *
 *   route → Host/Origin (DNS rebinding) → method → per-IP limit → authenticate (bearer JWT →
 *   principal) → media types → body (size cap while streaming) → JSON-RPC parse (structure
 *   limits) → per-principal/tenant limit → era: 2026-07-28 stateless | 2025 session | 2024 SSE
 *   session → dispatch (policy, per-tool limits, tools, durable audit)
 *
 * Every request to an MCP route is authenticated, whatever its era, method or session.
 * Expected refusals are answered here with the exact status of SECURITY.md §0; anything
 * unexpected becomes a generic 500 with a correlation id, the detail only in the log.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { extractBearer } from '../auth/bearer.js';
import { buildChallenge } from '../auth/challenge.js';
import type { Verifier } from '../auth/verify.js';
import { PRM_PATH } from '../auth/metadata.js';
import { JWKS_PATH } from '../tools/http/signing.js';
import { LEGACY_VERSIONS, META, RpcCode } from '../protocol/constants.js';
import type { AuthedRequest, TransportDeps } from '../protocol/context.js';
import { principalFields } from '../protocol/events.js';
import { acceptsBoth } from '../protocol/exchange.js';
import { parseMessage } from '../protocol/jsonrpc.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';
import { handleSseMessage, handleSseOpen, MESSAGES_PATH } from '../protocol/legacySse.js';
import { handleModernPost, headerClaimsModern } from '../protocol/modern.js';
import {
  handleStreamableDelete,
  handleStreamableGet,
  handleStreamablePost,
  SESSION_HEADER,
} from '../protocol/streamable.js';
import type { AuditTrail } from '../audit/types.js';
import type { Principal } from '../auth/principal.js';
import type { LimitDecision, Limiter } from '../limits/limiter.js';
import type { Metrics } from '../observability/metrics.js';
import { readBody } from './body.js';
import { clientIp } from './clientIp.js';
import type { ProxyTrust } from './clientIp.js';
import { checkEdge } from './edge.js';
import type { EdgePolicy } from './edge.js';
import { closeIfBody, sendEmpty, sendJson, sendRpcError } from './respond.js';

export interface PipelineDeps {
  readonly transport: TransportDeps;
  readonly limiter: Limiter;
  readonly proxyTrust: ProxyTrust;
  readonly audit: AuditTrail;
  readonly metrics: Metrics;
  /** Serves /healthz, /readyz and /metrics on this listener; false for any other path. */
  readonly healthRoutes: (
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ) => Promise<boolean>;
  readonly edge: EdgePolicy;
  readonly verifier: Verifier;
  readonly log: Logger;
  readonly maxTokenBytes: number;
  readonly resourceMetadataUrl: string;
  readonly baselineScopes: readonly string[];
  /** The PRM document, serialised once. */
  readonly protectedResourceMetadata: string;
  /** The gateway's upstream-signing key set (JWKS_PATH), serialised once; absent without one. */
  readonly jwks?: string;
  readonly tls: boolean;
}

const MCP_PATH = '/mcp';
const SSE_PATH = '/mcp/sse';
const ALLOWED: Record<string, string> = { [MCP_PATH]: 'GET, POST, DELETE', [SSE_PATH]: 'GET', [MESSAGES_PATH]: 'POST' };
const ALLOWED_SETS: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(ALLOWED).map(([p, methods]) => [p, new Set(methods.split(', '))]),
);

export function createRequestHandler(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestId = randomUUID();
    const started = performance.now();
    res.once('finish', () =>
      deps.metrics.httpRequest(
        routeLabel(req.url),
        req.method ?? '',
        res.statusCode,
        (performance.now() - started) / 1000,
      ),
    );
    if (deps.tls) res.setHeader('strict-transport-security', 'max-age=31536000');
    handle(req, res, requestId, deps).catch((err: unknown) => {
      deps.log.error({ requestId, err }, 'unhandled error in request pipeline');
      if (!res.headersSent) {
        try {
          sendRpcError(
            res,
            500,
            null,
            { code: RpcCode.InternalError, message: `Internal error (ref ${requestId})` },
            requestId,
            {
              connection: 'close',
            },
          );
          return;
        } catch {
          // Fall through: the socket is beyond saving.
        }
      }
      res.destroy();
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, deps: PipelineDeps): Promise<void> {
  // HTTP/1.0 and 1.1 only: Node also accepts a version-less (0.9-style) request line with headers
  // and "HTTP/2.0" in clear text, which a proxy in front may frame differently (smuggling).
  if (req.httpVersionMajor !== 1) {
    sendJson(res, 505, '{"error":"http_version_not_supported"}', requestId, { connection: 'close' });
    return;
  }
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);

  if (path === MCP_PATH || path === SSE_PATH || path === MESSAGES_PATH) {
    await mcp(req, res, path, query, requestId, deps);
    return;
  }
  if (await deps.healthRoutes(path, req, res, requestId)) return;
  if (path === PRM_PATH || path === `${PRM_PATH}${MCP_PATH}`) {
    if (req.method === 'OPTIONS') {
      sendEmpty(res, 204, requestId, corsGet());
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET', requestId);
    sendJson(res, 200, deps.protectedResourceMetadata, requestId, { ...corsGet(), 'cache-control': 'max-age=300' });
    return;
  }
  if (path === JWKS_PATH && deps.jwks !== undefined) {
    // Public keys of the gateway's upstream JWTs: upstreams verify with them (tools/http/signing.ts).
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET', requestId);
    sendJson(res, 200, deps.jwks, requestId, { ...corsGet(), 'cache-control': 'max-age=300' });
    return;
  }
  sendJson(res, 404, '{"error":"not_found"}', requestId, closeIfBody(req));
}

async function mcp(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
  requestId: string,
  deps: PipelineDeps,
): Promise<void> {
  const ip = clientIp(req, deps.proxyTrust);
  // 1. DNS rebinding (RC-6): before anything else, authenticated or not.
  const edge = checkEdge(req, deps.edge);
  if (!edge.ok) {
    deps.audit.record({ event: 'request.refused', requestId, ip, reason: edge.reason });
    sendRpcError(res, 403, null, { code: RpcCode.ServerError, message: 'Forbidden' }, requestId, closeIfBody(req));
    return;
  }
  // 2. Method (RC-10).
  if (!ALLOWED_SETS[path]?.has(req.method ?? '')) return methodNotAllowed(req, res, ALLOWED[path] ?? '', requestId);

  // 3. Per-IP limit before any cryptography (SEC-RL-02).
  const byIp = await deps.limiter.ip(ip);
  if (!byIp.ok) return rateLimited(res, byIp, null, requestId, deps, { ip });

  // 4. Authentication (RC-1/2/3/5), before the body is read.
  const principal = await authenticate(req, res, query, requestId, ip, deps);
  if (!principal) return;
  const a: AuthedRequest = { req, res, principal, requestId, query, ip };
  const t = deps.transport;

  if (req.method !== 'POST') {
    // 5. Per-principal and per-tenant limits: streams and session ends count too.
    const limit = await deps.limiter.request(principal);
    if (!limit.ok) return rateLimited(res, limit, null, requestId, deps, { ip, principal });
  }
  if (req.method === 'GET') {
    if (!acceptsBoth(req.headers.accept).sse) {
      sendRpcError(
        res,
        406,
        null,
        { code: RpcCode.ServerError, message: 'Not Acceptable: Accept must include text/event-stream' },
        requestId,
      );
      return;
    }
    // A GET on /mcp with a session is the 2025 standalone stream; without one it is a
    // 2024-11-05 client opening its HTTP+SSE stream (the 2026 spec's fallback rule).
    if (path === MCP_PATH && req.headers[SESSION_HEADER] !== undefined) handleStreamableGet(a, t);
    else handleSseOpen(a, t);
    return;
  }
  if (req.method === 'DELETE') {
    handleStreamableDelete(a, t);
    return;
  }

  // POST: media types (RC-10), then the body (RC-11), then JSON-RPC (RC-12/13).
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  const encoding = req.headers['content-encoding'];
  if (
    !/^application\/json\s*(;|$)/.test(contentType) ||
    (encoding !== undefined && encoding.toLowerCase() !== 'identity')
  ) {
    sendRpcError(
      res,
      415,
      null,
      { code: RpcCode.ServerError, message: 'Unsupported Media Type: Content-Type must be application/json' },
      requestId,
      closeIfBody(req),
    );
    return;
  }
  const accept = acceptsBoth(req.headers.accept);
  if (path === MCP_PATH && !(accept.json && accept.sse)) {
    sendRpcError(
      res,
      406,
      null,
      {
        code: RpcCode.ServerError,
        message: 'Not Acceptable: Accept must include application/json and text/event-stream',
      },
      requestId,
      closeIfBody(req),
    );
    return;
  }
  const body = await readBody(req, t.bodyLimitBytes);
  if (!body.ok) {
    if (body.reason === 'too_large') sendEmpty(res, 413, requestId, { connection: 'close' });
    else res.destroy();
    return;
  }
  const parsed = parseMessage(body.body, t.limits);
  if (!parsed.ok) {
    const message = parsed.code === RpcCode.ParseError ? 'Parse error' : 'Invalid Request';
    sendRpcError(res, 400, null, { code: parsed.code, message }, requestId);
    return;
  }
  const msg = parsed.message;
  // 5. Per-principal and per-tenant limits, with the request id now known (RC-19).
  const limit = await (msg.kind === 'notification'
    ? deps.limiter.notification(principal)
    : deps.limiter.request(principal));
  if (!limit.ok)
    return rateLimited(res, limit, msg.kind === 'notification' ? null : msg.id, requestId, deps, { ip, principal });
  if (path === MESSAGES_PATH) {
    await handleSseMessage(a, msg, t);
    return;
  }
  const meta = msg.kind === 'response' ? undefined : msg.params?._meta;
  const claimsModern = meta !== null && typeof meta === 'object' && META.protocolVersion in meta;
  if (claimsModern) {
    await handleModernPost(a, msg, accept.sse, t);
  } else if (req.headers[SESSION_HEADER] === undefined && headerClaimsModern(req, LEGACY_VERSIONS)) {
    // A 2026 header without the 2026 `_meta` (missing or incomplete): invalid params.
    const id = msg.kind === 'notification' ? null : msg.id;
    sendRpcError(
      res,
      400,
      id,
      { code: RpcCode.InvalidParams, message: `Missing _meta["${META.protocolVersion}"]` },
      requestId,
    );
  } else {
    await handleStreamablePost(a, msg, accept.sse, t);
  }
}

async function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  query: string,
  requestId: string,
  ip: string,
  deps: PipelineDeps,
): Promise<Principal | undefined> {
  const bearer = extractBearer(req, query, deps.maxTokenBytes);
  // The usual case first, before the refusal helpers below are built.
  const result = bearer.kind === 'token' ? await deps.verifier.verify(bearer.token) : undefined;
  if (result?.ok) return result.principal;
  const opts = { resourceMetadataUrl: deps.resourceMetadataUrl, scopes: deps.baselineScopes };
  const refuse = (status: number, kind: 'missing' | 'invalid_token' | 'invalid_request', reason: string): undefined => {
    deps.log.info({ requestId, event: 'auth.failed', reason }, 'authentication failed');
    deps.metrics.authFailure(reason);
    deps.audit.record({ event: 'auth.failed', requestId, ip, reason });
    const body = kind === 'missing' ? '{"error":"unauthorized"}' : `{"error":"${kind}"}`;
    sendJson(res, status, body, requestId, { 'www-authenticate': buildChallenge(kind, opts), ...closeIfBody(req) });
    return undefined;
  };
  switch (bearer.kind) {
    case 'none':
      return refuse(401, 'missing', 'no_credentials');
    case 'malformed':
      return refuse(400, 'invalid_request', bearer.reason);
    case 'too_long':
      return refuse(401, 'invalid_token', 'token_too_long');
    case 'token': {
      if (!result || result.ok) return refuse(401, 'invalid_token', 'unverified'); // unreachable: see above
      if (result.kind === 'unavailable') {
        // RC-5: cannot decide → fail closed, never allow.
        deps.log.warn({ requestId, event: 'auth.unavailable', reason: result.reason }, 'verification keys unavailable');
        deps.metrics.authFailure(result.reason);
        deps.audit.record({ event: 'auth.failed', requestId, ip, reason: result.reason });
        sendJson(res, 503, '{"error":"temporarily_unavailable"}', requestId, { 'retry-after': 5, ...closeIfBody(req) });
        return undefined;
      }
      return refuse(401, 'invalid_token', result.reason);
    }
  }
}

/** RC-19: 429 with `Retry-After`, and a JSON-RPC error carrying the request id when known. */
function rateLimited(
  res: ServerResponse,
  decision: Exclude<LimitDecision, { ok: true }>,
  id: JsonRpcId | null,
  requestId: string,
  deps: PipelineDeps,
  who: { ip: string; principal?: Principal },
): void {
  deps.metrics.rateLimited(decision.scope);
  deps.audit.record({
    event: 'rate.limited',
    requestId,
    ip: who.ip,
    reason: decision.scope,
    ...(who.principal && principalFields(who.principal)),
  });
  sendRpcError(res, 429, id, { code: RpcCode.ServerError, message: 'Rate limit exceeded' }, requestId, {
    'retry-after': decision.retryAfterSec,
    ...closeIfBody(res.req),
  });
}

const ROUTE_LABELS = new Set([MCP_PATH, SSE_PATH, MESSAGES_PATH, '/healthz', '/readyz', '/metrics']);

/** A bounded route label for metrics: known paths, the PRM family, or `other`. */
function routeLabel(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  if (ROUTE_LABELS.has(path)) return path;
  return path.startsWith(PRM_PATH) ? PRM_PATH : 'other';
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string, requestId: string): void {
  sendRpcError(res, 405, null, { code: RpcCode.ServerError, message: 'Method Not Allowed' }, requestId, {
    allow,
    ...closeIfBody(req),
  });
}

function corsGet(): Record<string, string> {
  return { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET', 'access-control-max-age': '600' };
}
