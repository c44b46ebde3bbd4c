/**
 * MCP 2025-03-26 / 2025-06-18 / 2025-11-25 Streamable HTTP with sessions
 * (2025-11-25 basic/transports.mdx). `initialize` opens a session bound to the principal;
 * every later request names it in `Mcp-Session-Id` and must come from the same principal.
 * Missing id → 400 (RC-7); unknown, expired or someone else's → the same 404 (RC-8).
 */
import type { ServerResponse } from 'node:http';
import { sendEmpty, sendRpcError, sseEvent, startSse } from '../http/respond.js';
import type { Session } from '../session/registry.js';
import { RpcCode, SESSION_VERSIONS } from './constants.js';
import type { AuthedRequest, TransportDeps } from './context.js';
import { ownerMismatch, sessionOpened, sessionRefused } from './events.js';
import type { DispatchContext } from './dispatch.js';
import { eitherCancellation, responseCancellation, signalCancellation } from './cancellation.js';
import type { Cancellation } from './cancellation.js';
import { PostExchange } from './exchange.js';
import { pendingRequests, settleResponse } from './serverRequests.js';
import type { JsonRpcMessage, JsonRpcRequest } from './jsonrpc.js';

export const SESSION_HEADER = 'mcp-session-id';
const NOT_FOUND = { code: RpcCode.SessionNotFound, message: 'Session not found' };
const MISSING = { code: RpcCode.ServerError, message: 'Bad Request: Mcp-Session-Id header is required' };

type Lookup = { ok: true; session: Session } | { ok: false };

/** Finds the caller's own session, answering 400/404 itself when there is none. */
function lookupSession(a: AuthedRequest, deps: TransportDeps): Lookup {
  const ids = a.req.headersDistinct[SESSION_HEADER];
  if (ids === undefined) {
    sendRpcError(a.res, 400, null, MISSING, a.requestId);
    return { ok: false };
  }
  const session = ids.length === 1 ? deps.registry.get(ids[0] ?? '', a.principal, 'streamable') : undefined;
  if (!session) {
    if (ids.length === 1 && deps.registry.ownedByAnother(ids[0] ?? '', a.principal)) {
      ownerMismatch(a, deps);
    }
    sendRpcError(a.res, 404, null, NOT_FOUND, a.requestId);
    return { ok: false };
  }
  return { ok: true, session };
}

/** SEC-SES-07: on an established session the header must equal the negotiated version. */
function versionHeaderOk(a: AuthedRequest, session: Session): boolean {
  const v = a.req.headersDistinct['mcp-protocol-version'];
  return v === undefined || (v.length === 1 && v[0] === session.protocolVersion);
}

export async function handleStreamablePost(
  a: AuthedRequest,
  msg: JsonRpcMessage,
  acceptsSse: boolean,
  deps: TransportDeps,
): Promise<void> {
  if (msg.kind === 'request' && msg.method === 'initialize') {
    await initialize(a, msg, acceptsSse, deps);
    return;
  }
  const found = lookupSession(a, deps);
  if (!found.ok) return;
  const session = found.session;
  if (!versionHeaderOk(a, session)) {
    sendRpcError(
      a.res,
      400,
      null,
      { code: RpcCode.InvalidRequest, message: 'Bad Request: Unsupported protocol version' },
      a.requestId,
    );
    return;
  }
  if (msg.kind === 'response') {
    // The answer to a question this session was asked (a confirmation elicitation), once; the
    // session lookup above already made sure the sender owns it (Z-27).
    if (settleResponse(session, msg)) {
      sendEmpty(a.res, 202, a.requestId);
      return;
    }
    // The gateway has sent no server→client request this response could answer (V-13).
    sendRpcError(a.res, 400, null, { code: RpcCode.InvalidRequest, message: 'Unexpected response' }, a.requestId);
    return;
  }
  if (msg.kind === 'notification') {
    sendEmpty(a.res, 202, a.requestId);
    return;
  }
  if (session.inflight.has(msg.id)) {
    sendRpcError(
      a.res,
      400,
      // id null: an answer carrying the id would be taken for the answer to the call in flight.
      null,
      { code: RpcCode.InvalidRequest, message: 'Invalid Request: request id already in use' },
      a.requestId,
    );
    return;
  }
  session.inflight.add(msg.id);
  const cancellation = eitherCancellation(responseCancellation(a.res), signalCancellation(session.abort.signal));
  const exchange = new PostExchange(a.res, a.requestId, acceptsSse, deps.sseBufferLimitBytes, {
    [SESSION_HEADER]: session.id,
  });
  try {
    const outcome = await deps.dispatch(msg, context(a, session, cancellation, exchange));
    exchange.finish(msg.id, outcome);
  } finally {
    session.inflight.delete(msg.id);
  }
}

async function initialize(
  a: AuthedRequest,
  msg: JsonRpcRequest,
  acceptsSse: boolean,
  deps: TransportDeps,
): Promise<void> {
  // S-05/S-12: an initialize never adopts a client-supplied id, and never re-initializes one.
  if (a.req.headers[SESSION_HEADER] !== undefined) {
    sendRpcError(
      a.res,
      400,
      msg.id,
      { code: RpcCode.InvalidRequest, message: 'Invalid Request: session already initialized' },
      a.requestId,
    );
    return;
  }
  const opened = deps.registry.open(a.principal, 'streamable', SESSION_VERSIONS[0] ?? '', {});
  if (!opened.ok) {
    sessionRefused(a, opened.reason, deps);
    sendRpcError(a.res, 429, msg.id, { code: RpcCode.ServerError, message: 'Too many sessions' }, a.requestId, {
      'retry-after': 60,
    });
    return;
  }
  const session = opened.session;
  sessionOpened(a, session, deps);
  const exchange = new PostExchange(a.res, a.requestId, acceptsSse, deps.sseBufferLimitBytes, {
    [SESSION_HEADER]: session.id,
  });
  const outcome = await deps.dispatch(msg, context(a, session, signalCancellation(session.abort.signal), exchange));
  if (outcome.kind === 'error') deps.registry.close(session, 'deleted');
  exchange.finish(msg.id, outcome);
}

function context(
  a: AuthedRequest,
  session: Session,
  cancellation: Cancellation,
  exchange: PostExchange,
): DispatchContext {
  return {
    era: 'streamable',
    principal: a.principal,
    ip: a.ip,
    requestId: a.requestId,
    protocolVersion: session.protocolVersion,
    clientCapabilities: session.clientCapabilities,
    logLevel: session.logLevel,
    session,
    cancellation,
    notify: (method, params) => exchange.notify(method, params),
    askClient: (method, params, timeoutMs) =>
      pendingRequests(session).ask((id) => exchange.request(id, method, params), cancellation, timeoutMs),
  };
}

/** GET: the session's standalone server→client stream; one per session (409 for a second). */
export function handleStreamableGet(a: AuthedRequest, deps: TransportDeps): void {
  const found = lookupSession(a, deps);
  if (!found.ok) return;
  const session = found.session;
  if (!versionHeaderOk(a, session)) {
    sendRpcError(
      a.res,
      400,
      null,
      { code: RpcCode.InvalidRequest, message: 'Bad Request: Unsupported protocol version' },
      a.requestId,
    );
    return;
  }
  if (session.stream) {
    sendRpcError(
      a.res,
      409,
      null,
      { code: RpcCode.ServerError, message: 'Conflict: only one stream per session' },
      a.requestId,
    );
    return;
  }
  startSse(a.res, a.requestId, { [SESSION_HEADER]: session.id });
  attachStream(session, a.res, deps, () => undefined);
}

/** DELETE: the owner ends the session; every later use of the id gets 404. */
export function handleStreamableDelete(a: AuthedRequest, deps: TransportDeps): void {
  const found = lookupSession(a, deps);
  if (!found.ok) return;
  deps.registry.close(found.session, 'deleted');
  sendEmpty(a.res, 200, a.requestId);
}

/**
 * Makes `res` the session's stream: keep-alive comments, a cap on what a slow reader may leave
 * buffered (SEC-SES-09), and cleanup when either side goes away.
 */
export function attachStream(session: Session, res: ServerResponse, deps: TransportDeps, onGone: () => void): void {
  session.stream = res;
  const keepAlive = setInterval(() => {
    if (res.writableLength > deps.sseBufferLimitBytes) res.destroy();
    else res.write(': keep-alive\n\n');
  }, deps.keepAliveMs);
  keepAlive.unref();
  res.once('close', () => {
    clearInterval(keepAlive);
    if (session.stream === res) session.stream = undefined;
    onGone();
  });
}

/** Writes one message to the session's stream, dropping the stream if the reader has fallen too far behind. */
export function writeToStream(session: Session, data: string, deps: TransportDeps, event?: string): boolean {
  const res = session.stream;
  if (!res || res.writableEnded || res.destroyed) return false;
  if (res.writableLength > deps.sseBufferLimitBytes) {
    res.destroy();
    return false;
  }
  res.write(sseEvent(data, event));
  return true;
}
