/**
 * The audit trail's contracts (DESIGN "Audit event", SECURITY.md A.8). The pipeline reports
 * what happened as an `AuditInput`; the trail adds identity, time, redaction and the hash chain,
 * and hands batches to a sink. Sinks: SQLite (default), PostgreSQL (clusters), JSON lines.
 */

export type AuditEventType =
  | 'auth.failed'
  | 'request.refused'
  | 'session.opened'
  | 'session.closed'
  | 'session.owner_mismatch'
  | 'tools.listed'
  | 'tool.intent'
  | 'tool.called'
  | 'tool.denied'
  | 'rate.limited'
  | 'config.loaded';

export type AuditOutcome = 'ok' | 'error' | 'denied';

/** What the pipeline knows about an event. */
export interface AuditInput {
  readonly event: AuditEventType;
  readonly requestId?: string;
  /** Raw session id; the trail stores only its hash (SEC-AUD-02). */
  readonly sessionId?: string;
  readonly issuer?: string;
  readonly user?: string;
  readonly tenant?: string;
  readonly roles?: readonly string[];
  readonly ip?: string;
  /** `modern` | `streamable` | `sse`. */
  readonly transport?: string;
  readonly method?: string;
  readonly tool?: string;
  /** Tool arguments, already redacted by the tool's redactor. */
  readonly arguments?: unknown;
  readonly outcome?: AuditOutcome;
  /** Internal reason code (never sent to clients). */
  readonly reason?: string;
  readonly latencyMs?: number;
}

/** A stored event: the input plus identity, time and the chain. */
export interface AuditEvent {
  /** Monotonic per instance. */
  readonly seq: number;
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly time: string;
  readonly instance: string;
  readonly event: AuditEventType;
  readonly requestId: string | null;
  readonly sessionHash: string | null;
  readonly issuer: string | null;
  readonly user: string | null;
  readonly tenant: string | null;
  readonly roles: readonly string[] | null;
  readonly ip: string | null;
  readonly transport: string | null;
  readonly method: string | null;
  readonly tool: string | null;
  /** Redacted arguments as canonical JSON text, capped. */
  readonly arguments: string | null;
  /**
   * SHA-256 of the canonical arguments as stored (after redaction, before truncation): it covers
   * the whole object when the stored excerpt is cut, and cannot be used to guess a redacted secret.
   */
  readonly argumentsDigest: string | null;
  readonly outcome: AuditOutcome | null;
  readonly reason: string | null;
  readonly latencyMs: number | null;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * An event as recorded, before the trail describes and seals it. Its id and time are fixed when
 * it is recorded, so sealing gives the same event (and hash) on whichever thread it runs.
 */
export interface PendingEvent {
  readonly input: AuditInput;
  readonly nowMs: number;
  readonly id: string;
}

/** What a sealing sink reports for a batch. */
export interface SealedBatch {
  /** The chain head after the batch's last event. */
  readonly head: { readonly lastSeq: number; readonly lastHash: string };
  /** The sealed events: when asked for, and always when the write failed. */
  readonly events?: readonly AuditEvent[];
  /** The write failed; `events` are sealed but not stored. */
  readonly error?: Error;
}

/** Where events go. `write` must not resolve before the batch is durable. */
export interface AuditSink {
  readonly name: string;
  /** The last stored event of this instance, to continue its chain after a restart. */
  last(instance: string): Promise<AuditEvent | undefined>;
  write(batch: readonly AuditEvent[]): Promise<void>;
  /** Cheap liveness probe for /readyz. */
  writable(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A sink that seals events itself as it writes them (the SQLite writer thread): description,
 * canonical JSON and hashes then run off the event loop. The trail still decides the order and
 * hands over the chain head, so chain order is commit order.
 */
export interface SealingSink extends AuditSink {
  /**
   * Seals `pending` in order after `head` and writes them. Resolves with the new head (and the
   * events, when `wantEvents` or when the write failed, with `error`); rejects only when nothing
   * is known of the batch (the writer is gone).
   */
  sealAndWrite(
    pending: readonly PendingEvent[],
    instance: string,
    head: SealedBatch['head'],
    wantEvents: boolean,
  ): Promise<SealedBatch>;
}

/** What the gateway talks to. */
export interface AuditTrail {
  /** Records an event; durability is not awaited (auth failures, listings, sessions). */
  record(input: AuditInput): void;
  /**
   * Records an event and resolves once it is durable in every sink (group commit). Rejects if
   * it cannot be stored; callers fail closed.
   */
  commit(input: AuditInput): Promise<void>;
  /** False once a sink has failed and not recovered. */
  healthy(): boolean;
  /** Flushes what is queued, then closes the sinks. */
  close(): Promise<void>;
}
