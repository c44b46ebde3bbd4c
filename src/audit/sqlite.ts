/**
 * The SQLite audit sink (the default store, DESIGN "Audit event"): one STRICT table, one column
 * per event field, written in one transaction per batch with parameterised statements
 * (SEC-AUD-03). WAL with `synchronous = FULL` by default, so a committed batch survives `kill -9`
 * and power loss; `normal` (opt-in) survives `kill -9` and crashes, not power loss. The file is
 * created 0600 in a 0700 directory: it holds who did what (SEC-AUD-02).
 */
import { accessSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import type { AuditEvent, AuditEventType, AuditOutcome, AuditSink } from './types.js';

/** Event field → column, in table order. */
export const COLUMNS = [
  ['seq', 'seq'],
  ['id', 'id'],
  ['time', 'time'],
  ['instance', 'instance'],
  ['event', 'event'],
  ['requestId', 'request_id'],
  ['sessionHash', 'session_hash'],
  ['issuer', 'issuer'],
  ['user', 'user'],
  ['tenant', 'tenant'],
  ['roles', 'roles'],
  ['ip', 'ip'],
  ['transport', 'transport'],
  ['method', 'method'],
  ['tool', 'tool'],
  ['arguments', 'arguments'],
  ['argumentsDigest', 'arguments_digest'],
  ['outcome', 'outcome'],
  ['reason', 'reason'],
  ['latencyMs', 'latency_ms'],
  ['prevHash', 'prev_hash'],
  ['hash', 'hash'],
] as const satisfies readonly (readonly [keyof AuditEvent, string])[];

/** Schema version, kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 1;

const NOT_NULL = new Set(['seq', 'id', 'time', 'instance', 'event', 'prev_hash', 'hash']);
const TYPES: Readonly<Record<string, string>> = { seq: 'INTEGER', latency_ms: 'REAL' };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  row_id INTEGER PRIMARY KEY AUTOINCREMENT,
  ${COLUMNS.map(([, c]) => `${c} ${TYPES[c] ?? 'TEXT'}${NOT_NULL.has(c) ? ' NOT NULL' : ''}`).join(',\n  ')}
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS audit_events_instance_seq ON audit_events (instance, seq);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
CREATE INDEX IF NOT EXISTS audit_events_user ON audit_events (user);
CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (tenant);
CREATE INDEX IF NOT EXISTS audit_events_tool ON audit_events (tool);
`;

/** The select list that `rowToEvent` reads (plus `row_id`). */
export const SELECT_COLUMNS = `row_id, ${COLUMNS.map(([, c]) => c).join(', ')}`;

/** A raw row of `audit_events`. */
type Row = Readonly<Record<string, unknown>>;

/** A column value as text (STRICT columns hold only text, numbers or NULL). */
function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(v) ?? '';
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : asString(v));

/**
 * Maps a row back to the event exactly as it was hashed. Values of a tampered row are carried
 * over as they are, so `verifyChain` reports them rather than this function hiding them.
 */
export function rowToEvent(row: Row): AuditEvent {
  let roles: readonly string[] | null = null;
  if (row.roles !== null && row.roles !== undefined) {
    try {
      const parsed: unknown = JSON.parse(asString(row.roles));
      roles = Array.isArray(parsed) ? parsed.map(asString) : [asString(row.roles)];
    } catch {
      roles = [asString(row.roles)]; // unparsable: a tampered row; its hash no longer matches
    }
  }
  return {
    seq: Number(row.seq),
    id: asString(row.id),
    time: asString(row.time),
    instance: asString(row.instance),
    event: asString(row.event) as AuditEventType,
    requestId: text(row.request_id),
    sessionHash: text(row.session_hash),
    issuer: text(row.issuer),
    user: text(row.user),
    tenant: text(row.tenant),
    roles,
    ip: text(row.ip),
    transport: text(row.transport),
    method: text(row.method),
    tool: text(row.tool),
    arguments: text(row.arguments),
    argumentsDigest: text(row.arguments_digest),
    outcome: text(row.outcome) as AuditOutcome | null,
    reason: text(row.reason),
    latencyMs: typeof row.latency_ms === 'number' ? row.latency_ms : null,
    prevHash: asString(row.prev_hash),
    hash: asString(row.hash),
  };
}

function eventParams(event: AuditEvent): unknown[] {
  return COLUMNS.map(([field]) =>
    field === 'roles' ? (event.roles === null ? null : JSON.stringify(event.roles)) : event[field],
  );
}

/**
 * Creates the parent directory (0700) and an empty file (0600) if they do not exist yet, so
 * SQLite never creates the database with the process umask. Existing modes are left alone.
 */
export function prepareFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600));
}

/** Thrown when the store holds a different event at a seq being written. */
export class AuditConflictError extends Error {
  override readonly name = 'AuditConflictError';
}

/** The SQLite sink. Synchronous underneath (better-sqlite3): a batch write blocks for its fsync. */
export class SqliteAuditSink implements AuditSink {
  readonly name = 'sqlite';
  private readonly insert: Statement;
  private readonly hashAt: Statement;
  private readonly lastOf: Statement;
  private readonly after: Statement;
  private readonly insertBatch: Transaction<(batch: readonly AuditEvent[]) => void>;
  private closed = false;

  private constructor(
    private readonly db: Db,
    /** The database file. */
    readonly file: string,
  ) {
    this.insert = db.prepare(`INSERT INTO audit_events (${COLUMNS.map(([, c]) => c).join(', ')})
      VALUES (${COLUMNS.map(() => '?').join(', ')})`);
    this.hashAt = db.prepare('SELECT hash FROM audit_events WHERE instance = ? AND seq = ?').pluck();
    this.lastOf = db.prepare(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE instance = ? ORDER BY seq DESC LIMIT 1`);
    this.after = db.prepare(
      `SELECT ${SELECT_COLUMNS} FROM audit_events WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.insertBatch = db.transaction((batch: readonly AuditEvent[]) => {
      let start = 0;
      // A retried batch may already be stored if its commit failed after reaching the disk:
      // skip the stored prefix, but refuse a different event at the same seq (two gateways
      // writing one file under the same instance name would otherwise fork the chain).
      for (; start < batch.length; start++) {
        const event = batch[start]!;
        const stored: unknown = this.hashAt.get(event.instance, event.seq);
        if (stored === undefined) break;
        if (stored !== event.hash) {
          throw new AuditConflictError(`audit seq ${event.seq} of instance ${event.instance} is already stored`);
        }
      }
      for (let i = start; i < batch.length; i++) this.insert.run(...eventParams(batch[i]!));
    });
  }

  /**
   * Opens (creating if needed) the audit database at `file` for writing. `synchronous`: `full`
   * fsyncs the WAL at every COMMIT (survives power loss); `normal` only at checkpoints (a COMMIT is
   * in the OS's hands: survives the process dying, not the machine).
   */
  static open(file: string, synchronous: 'full' | 'normal' = 'full'): SqliteAuditSink {
    prepareFile(file);
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // FULL: durable at COMMIT even in WAL mode (issue 3 durability).
      db.pragma(synchronous === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.pragma('trusted_schema = OFF');
      const version = Number(db.pragma('user_version', { simple: true }));
      if (version > SCHEMA_VERSION)
        throw new Error(`${file}: audit schema version ${version} is newer than this gateway`);
      db.exec(SCHEMA);
      if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return new SqliteAuditSink(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  last(instance: string): Promise<AuditEvent | undefined> {
    const row = this.lastOf.get(instance) as Row | undefined;
    return Promise.resolve(row === undefined ? undefined : rowToEvent(row));
  }

  /** Up to `limit` events of `instance` after `seq`, in seq order: catches a lagging sink up. */
  eventsAfter(instance: string, seq: number, limit: number): AuditEvent[] {
    return (this.after.all(instance, seq, limit) as Row[]).map(rowToEvent);
  }

  write(batch: readonly AuditEvent[]): Promise<void> {
    try {
      if (this.closed) throw new Error('audit sink is closed');
      this.insertBatch.immediate(batch); // BEGIN IMMEDIATE: waits for another writer instead of failing
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Whether a write lock can be taken on a file we may write (O-09: read-only file, full disk). */
  writable(): Promise<boolean> {
    if (this.closed || this.db.readonly) return Promise.resolve(false);
    try {
      accessSync(this.file, constants.W_OK);
      this.db.exec('BEGIN IMMEDIATE; ROLLBACK;');
      return Promise.resolve(true);
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return Promise.resolve(false);
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }
}
