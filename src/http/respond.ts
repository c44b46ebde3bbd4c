/**
 * Writing HTTP answers. Every answer gets a correct `Content-Type` with charset, `nosniff`,
 * `Cache-Control: no-store` (SEC-OUT-05) and the correlation id. Header values are only ever
 * gateway-made; a failure to set one (Node's ERR_INVALID_CHAR) is caught by the pipeline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcError } from '../protocol/messages.js';
import { serializeError } from '../protocol/messages.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const SSE_TYPE = 'text/event-stream; charset=utf-8';

export function baseHeaders(
  requestId: string,
  extra?: Record<string, string | number>,
): Record<string, string | number> {
  return {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
    ...extra,
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  requestId: string,
  extra?: Record<string, string | number>,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(
    status,
    baseHeaders(requestId, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...extra }),
  );
  res.end(body);
}

export function sendRpcError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId | null,
  error: RpcError,
  requestId: string,
  extra?: Record<string, string | number>,
): void {
  sendJson(res, status, serializeError(id, error), requestId, extra);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  requestId: string,
  extra?: Record<string, string | number>,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, baseHeaders(requestId, extra));
  res.end();
}

/** Starts an SSE response. `X-Accel-Buffering: no` keeps proxies from holding events back. */
export function startSse(res: ServerResponse, requestId: string, extra?: Record<string, string | number>): void {
  res.writeHead(200, baseHeaders(requestId, { 'content-type': SSE_TYPE, 'x-accel-buffering': 'no', ...extra }));
  res.flushHeaders();
}

/**
 * One SSE event. The data is JSON text made by the gateway (JSON.stringify never emits a raw
 * newline), so nothing inside it can start a new field or event (SEC-OUT-03).
 */
export function sseEvent(data: string, event?: string): string {
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}

/**
 * Headers for an answer given without reading the request body: the connection is closed, so
 * the unread body is never read (SEC-AUTH-02; RC-11 413 answers).
 */
export function closeIfBody(req: IncomingMessage): Record<string, string> {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  return hasBody && !req.readableEnded ? { connection: 'close' } : {};
}
