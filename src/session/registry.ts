/**
 * Session registry for the 2025 (Streamable HTTP) and 2024 (HTTP+SSE) eras (SEC-SES-01..04).
 *
 * - Ids: 32 bytes from the CSPRNG, base64url; an incoming id must match that exact format
 *   before any lookup.
 * - Binding: a session belongs to the principal key `(iss, sub, tenant)` that opened it; a lookup
 *   by anyone else returns the same "not found" as an unknown id.
 * - Bounds: idle and absolute expiry, a cap per principal and in total.
 * - Cleanup: closing a session (DELETE, expiry, transport disconnect, shutdown) aborts its
 *   in-flight work, ends its streams and drops every map entry — nothing outlives it.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { SessionConfig } from '../config/types.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';
import type { LogLevel } from '../tools/types.js';

export type Era = 'streamable' | 'sse';

export interface Session {
  readonly id: string;
  readonly era: Era;
  readonly principalKey: string;
  readonly createdAt: number;
  lastSeen: number;
  protocolVersion: string;
  clientCapabilities: Readonly<Record<string, unknown>>;
  /** Lowest level the client asked to receive (`logging/setLevel`), if any. */
  logLevel: LogLevel | undefined;
  /** Request ids in flight; a reused one is refused (SEC-IN-03). */
  readonly inflight: Set<JsonRpcId>;
  /** The standalone server→client stream (2025 GET, or the 2024 SSE stream). */
  stream: ServerResponse | undefined;
  /** Aborted when the session ends; tool calls listen to it. */
  readonly abort: AbortController;
  closed: boolean;
}

export type OpenResult =
  { ok: true; session: Session } | { ok: false; reason: 'principal_session_cap' | 'session_cap' };

export interface SessionRegistryOptions {
  config: SessionConfig;
  now?: () => number;
  /** Called once per session when it ends, for audit and metrics. */
  onClose?: (session: Session, why: CloseReason) => void;
}

export type CloseReason = 'deleted' | 'idle_timeout' | 'absolute_timeout' | 'disconnected' | 'shutdown';

const ID_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function isWellFormedSessionId(id: string): boolean {
  return ID_FORMAT.test(id);
}

export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #perPrincipal = new Map<string, number>();
  readonly #config: SessionConfig;
  readonly #now: () => number;
  readonly #onClose: SessionRegistryOptions['onClose'];
  readonly #sweeper: NodeJS.Timeout;

  constructor(opts: SessionRegistryOptions) {
    this.#config = opts.config;
    this.#now = opts.now ?? Date.now;
    this.#onClose = opts.onClose;
    const every = Math.max(1000, Math.min(60_000, (this.#config.idleTimeoutSec * 1000) / 4));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  open(
    principal: Principal,
    era: Era,
    protocolVersion: string,
    clientCapabilities: Record<string, unknown>,
  ): OpenResult {
    if (this.#sessions.size >= this.#config.maxTotal) return { ok: false, reason: 'session_cap' };
    const count = this.#perPrincipal.get(principal.key) ?? 0;
    if (count >= this.#config.maxPerPrincipal) return { ok: false, reason: 'principal_session_cap' };
    const t = this.#now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      era,
      principalKey: principal.key,
      createdAt: t,
      lastSeen: t,
      protocolVersion,
      clientCapabilities,
      logLevel: undefined,
      inflight: new Set(),
      stream: undefined,
      abort: new AbortController(),
      closed: false,
    };
    this.#sessions.set(session.id, session);
    this.#perPrincipal.set(principal.key, count + 1);
    return { ok: true, session };
  }

  /**
   * The session with this id, if it exists, is live, belongs to `principal` and is of `era`.
   * Every other case answers `undefined`, so callers cannot tell them apart (RC-8).
   */
  get(id: string, principal: Principal, era: Era): Session | undefined {
    if (!isWellFormedSessionId(id)) return undefined;
    const s = this.#sessions.get(id);
    if (!s || s.era !== era || s.principalKey !== principal.key) return undefined;
    const t = this.#now();
    if (this.#expired(s, t)) {
      this.close(s, t - s.createdAt >= this.#config.absoluteTimeoutSec * 1000 ? 'absolute_timeout' : 'idle_timeout');
      return undefined;
    }
    s.lastSeen = t;
    return s;
  }

  /** True when a live session with this id exists but belongs to someone else (for the audit only). */
  ownedByAnother(id: string, principal: Principal): boolean {
    const s = isWellFormedSessionId(id) ? this.#sessions.get(id) : undefined;
    return s !== undefined && s.principalKey !== principal.key;
  }

  close(session: Session, why: CloseReason): void {
    if (session.closed) return;
    session.closed = true;
    this.#sessions.delete(session.id);
    const n = (this.#perPrincipal.get(session.principalKey) ?? 1) - 1;
    if (n <= 0) this.#perPrincipal.delete(session.principalKey);
    else this.#perPrincipal.set(session.principalKey, n);
    session.abort.abort();
    session.inflight.clear();
    const stream = session.stream;
    session.stream = undefined;
    if (stream && !stream.writableEnded) stream.end();
    this.#onClose?.(session, why);
  }

  sweep(): void {
    const t = this.#now();
    for (const s of this.#sessions.values()) {
      if (this.#expired(s, t)) {
        this.close(s, t - s.createdAt >= this.#config.absoluteTimeoutSec * 1000 ? 'absolute_timeout' : 'idle_timeout');
      }
    }
  }

  closeAll(): void {
    clearInterval(this.#sweeper);
    for (const s of [...this.#sessions.values()]) this.close(s, 'shutdown');
  }

  get size(): number {
    return this.#sessions.size;
  }

  countFor(principalKey: string): number {
    return this.#perPrincipal.get(principalKey) ?? 0;
  }

  #expired(s: Session, t: number): boolean {
    // A session with an open stream is not idle.
    const idle = s.stream === undefined && t - s.lastSeen >= this.#config.idleTimeoutSec * 1000;
    return idle || t - s.createdAt >= this.#config.absoluteTimeoutSec * 1000;
  }
}
