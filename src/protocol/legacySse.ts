/**
 * The 2024-11-05 HTTP+SSE transport (2024-11-05 basic/transports.mdx), kept for older clients
 * under the same controls as Streamable HTTP (SEC-SES-10): `GET /mcp/sse` opens the stream and
 * a session bound to the principal; the first event names the POST endpoint; every
 * `POST /mcp/messages?sessionId=…` is authenticated and must come from the session's owner.
 * Answers travel on the stream. No request body is ever echoed back.
 */
import { sendEmpty, sendRpcError, startSse } from '../http/respond.js';
import { RpcCode, SSE_VERSION } from './constants.js';
import type { AuthedRequest, TransportDeps } from './context.js';
import { ownerMismatch, sessionOpened, sessionRefused } from './events.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import { serializeError, serializeNotification, serializeResult } from './messages.js';
import { signalCancellation } from './cancellation.js';
import { pendingRequests, serializeRequest, settleResponse } from './serverRequests.js';
import { isWellFormedSessionId } from '../session/registry.js';
import { attachStream, writeToStream } from './streamable.js';

export const MESSAGES_PATH = '/mcp/messages';

export function handleSseOpen(a: AuthedRequest, deps: TransportDeps): void {
  const opened = deps.registry.open(a.principal, 'sse', SSE_VERSION, {});
  if (!opened.ok) {
    sessionRefused(a, opened.reason, deps);
    sendRpcError(a.res, 429, null, { code: RpcCode.ServerError, message: 'Too many sessions' }, a.requestId, {
      'retry-after': 60,
    });
    return;
  }
  const session = opened.session;
  sessionOpened(a, session, deps);
  startSse(a.res, a.requestId);
  // A same-origin relative path with no credentials in it.
  a.res.write(`event: endpoint\ndata: ${MESSAGES_PATH}?sessionId=${session.id}\n\n`);
  // The stream is the session: when it goes, the session goes.
  attachStream(session, a.res, deps, () => deps.registry.close(session, 'disconnected'));
}

/** Reads `sessionId` from the query; `undefined` when absent or repeated. */
export function sessionIdFromQuery(query: string): string | undefined {
  const params = new URLSearchParams(query);
  const all = params.getAll('sessionId');
  return all.length === 1 ? all[0] : undefined;
}

export async function handleSseMessage(a: AuthedRequest, msg: JsonRpcMessage, deps: TransportDeps): Promise<void> {
  const id = sessionIdFromQuery(a.query);
  // L-04: missing, repeated or malformed → 400 before any lookup; only a well-formed id can be 404.
  if (id === undefined || !isWellFormedSessionId(id)) {
    const message = id === undefined ? 'Bad Request: sessionId is required' : 'Bad Request: malformed sessionId';
    sendRpcError(a.res, 400, null, { code: RpcCode.ServerError, message }, a.requestId);
    return;
  }
  const session = deps.registry.get(id, a.principal, 'sse');
  if (!session || !session.stream) {
    if (deps.registry.ownedByAnother(id, a.principal)) {
      ownerMismatch(a, deps);
    }
    sendRpcError(a.res, 404, null, { code: RpcCode.SessionNotFound, message: 'Session not found' }, a.requestId);
    return;
  }
  if (msg.kind === 'response') {
    // The answer to a question asked on this session's stream, from its owner (as on 2025).
    if (settleResponse(session, msg)) {
      sendEmpty(a.res, 202, a.requestId);
      return;
    }
    sendRpcError(a.res, 400, null, { code: RpcCode.InvalidRequest, message: 'Unexpected response' }, a.requestId);
    return;
  }
  if (msg.kind === 'request' && session.inflight.has(msg.id)) {
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
  sendEmpty(a.res, 202, a.requestId);
  if (msg.kind === 'notification') return;

  session.inflight.add(msg.id);
  const cancellation = signalCancellation(session.abort.signal);
  try {
    const outcome = await deps.dispatch(msg, {
      era: 'sse',
      principal: a.principal,
      ip: a.ip,
      requestId: a.requestId,
      protocolVersion: session.protocolVersion,
      clientCapabilities: session.clientCapabilities,
      logLevel: session.logLevel,
      session,
      cancellation,
      notify: (method, params) => writeToStream(session, serializeNotification(method, params), deps, 'message'),
      // 2024-11-05 has no per-call stream: questions go out on the session's stream.
      askClient: (method, params, timeoutMs) =>
        pendingRequests(session).ask(
          (id) => writeToStream(session, serializeRequest(id, method, params), deps, 'message'),
          cancellation,
          timeoutMs,
        ),
    });
    const body =
      outcome.kind === 'result'
        ? serializeResult(msg.id, outcome.result, outcome.rawTools)
        : serializeError(msg.id, outcome.error);
    writeToStream(session, body, deps, 'message');
  } finally {
    session.inflight.delete(msg.id);
  }
}
