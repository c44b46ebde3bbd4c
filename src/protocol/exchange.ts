/**
 * The answer channel of one POSTed request (Streamable HTTP, 2025 and 2026): a single JSON body
 * by default, switched to an SSE stream scoped to this request as soon as a related notification
 * (log, progress) has to go out before the result. Closing the stream early cancels the request,
 * and so does a reader that leaves more than the buffer cap unread (D-04, SEC-RL-03).
 */
import type { ServerResponse } from 'node:http';
import { JSON_TYPE, baseHeaders, sendRpcError, sseEvent, startSse } from '../http/respond.js';
import type { JsonRpcId } from './jsonrpc.js';
import { serializeNotification, serializeResult } from './messages.js';
import type { Outcome } from './messages.js';
import { serializeRequest } from './serverRequests.js';

export class PostExchange {
  #streaming = false;
  readonly #res: ServerResponse;
  readonly #requestId: string;
  readonly #acceptsSse: boolean;
  readonly #bufferLimitBytes: number;
  readonly #headers: Record<string, string>;

  constructor(
    res: ServerResponse,
    requestId: string,
    acceptsSse: boolean,
    bufferLimitBytes: number,
    headers: Record<string, string> = {},
  ) {
    this.#res = res;
    this.#requestId = requestId;
    this.#acceptsSse = acceptsSse;
    this.#bufferLimitBytes = bufferLimitBytes;
    this.#headers = headers;
  }

  notify(method: string, params: Record<string, unknown>): void {
    this.#write(serializeNotification(method, params));
  }

  /** A server→client request related to this call (2025: on the call's own stream); false if it cannot go out. */
  request(id: string, method: string, params: Record<string, unknown>): boolean {
    return this.#write(serializeRequest(id, method, params));
  }

  #write(message: string): boolean {
    const res = this.#res;
    if (!this.#acceptsSse || res.writableEnded || res.destroyed) return false;
    if (res.writableLength > this.#bufferLimitBytes) {
      // The reader has fallen too far behind: drop the stream (which cancels the call).
      res.destroy();
      return false;
    }
    if (!this.#streaming) {
      startSse(res, this.#requestId, this.#headers);
      this.#streaming = true;
    }
    res.write(sseEvent(message));
    return true;
  }

  finish(id: JsonRpcId, outcome: Outcome): void {
    const res = this.#res;
    if (res.writableEnded || res.destroyed) return;
    if (outcome.kind === 'error') {
      if (this.#streaming) {
        res.end(sseEvent(JSON.stringify({ jsonrpc: '2.0', id, error: outcome.error })));
        return;
      }
      sendRpcError(res, outcome.status ?? 200, id, outcome.error, this.#requestId, {
        ...this.#headers,
        ...outcome.headers,
      });
      return;
    }
    const body = serializeResult(id, outcome.result, outcome.rawTools);
    if (this.#streaming) {
      res.end(sseEvent(body));
      return;
    }
    res.writeHead(
      200,
      baseHeaders(this.#requestId, {
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(body),
        ...this.#headers,
        ...outcome.headers,
      }),
    );
    res.end(body);
  }
}

/** The POST's `Accept` must list both JSON and SSE (transports §"Sending Messages"). */
export function acceptsBoth(accept: string | undefined): { json: boolean; sse: boolean } {
  if (accept === undefined) return { json: false, sse: false };
  const a = accept.toLowerCase();
  const wildcard = a.includes('*/*');
  return { json: wildcard || a.includes('application/json'), sse: wildcard || a.includes('text/event-stream') };
}
