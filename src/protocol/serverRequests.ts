/**
 * Server→client requests of the session eras (2025 Streamable HTTP, 2024 HTTP+SSE): today the
 * confirmation `elicitation/create` of a destructive call (SEC-AZ-07). Each session keeps its
 * own table of pending requests, so an answer counts only on the session that was asked — and a
 * session answers only to its owner (RC-8), so only the principal who made the call can
 * confirm it (Z-27). Ids are random, an answer settles its request once (Z-26), and every wait
 * ends: answer, timeout, or the call going away (stream closed, session ended).
 */
import { randomBytes } from 'node:crypto';
import type { ClientAnswer } from '../policy/confirm.js';
import type { Session } from '../session/registry.js';
import type { Cancellation } from './cancellation.js';
import type { JsonRpcResponse } from './jsonrpc.js';

/** Questions one session may have open at once (each holds a call in flight). */
const MAX_PENDING_PER_SESSION = 8;

export class PendingRequests {
  readonly #pending = new Map<string, (answer: ClientAnswer) => void>();

  /**
   * Sends a request with a fresh id through `send` (false: it could not be written) and waits
   * for its answer, at most `timeoutMs`, and no longer than `cancellation` allows.
   */
  ask(send: (id: string) => boolean, cancellation: Cancellation, timeoutMs: number): Promise<ClientAnswer> {
    if (cancellation.cancelled) return Promise.resolve({ ok: false, reason: 'cancelled' });
    if (this.#pending.size >= MAX_PENDING_PER_SESSION) return Promise.resolve({ ok: false, reason: 'unavailable' });
    const id = `portcullis-${randomBytes(18).toString('base64url')}`;
    return new Promise<ClientAnswer>((resolve) => {
      const settle = (answer: ClientAnswer): void => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(timer);
        offCancel();
        resolve(answer);
      };
      this.#pending.set(id, settle);
      const timer = setTimeout(() => settle({ ok: false, reason: 'timeout' }), timeoutMs);
      timer.unref();
      const offCancel = cancellation.onCancel(() => settle({ ok: false, reason: 'cancelled' }));
      if (!send(id)) settle({ ok: false, reason: 'unavailable' });
    });
  }

  /** Settles the pending request this response answers; false when it answers none (V-13). */
  answer(msg: JsonRpcResponse): boolean {
    const settle = typeof msg.id === 'string' ? this.#pending.get(msg.id) : undefined;
    if (!settle) return false;
    settle(msg.error === undefined ? { ok: true, result: msg.result } : { ok: false, reason: 'error' });
    return true;
  }

  get size(): number {
    return this.#pending.size;
  }
}

const tables = new WeakMap<Session, PendingRequests>();

/** The session's pending server→client requests (created on first use, gone with the session). */
export function pendingRequests(session: Session): PendingRequests {
  let table = tables.get(session);
  if (!table) {
    table = new PendingRequests();
    tables.set(session, table);
  }
  return table;
}

/** Answers a response on `session` if it settles one of its pending requests. */
export function settleResponse(session: Session, msg: JsonRpcResponse): boolean {
  return tables.get(session)?.answer(msg) ?? false;
}

/** A JSON-RPC request from the server, serialized. */
export function serializeRequest(id: string, method: string, params: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}
