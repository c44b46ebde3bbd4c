/**
 * Read-only access to the SQLite audit store, for `portcullis audit` (tail, query, verify,
 * export). The database is opened read-only, so the CLI can never alter the evidence it reads;
 * every filter is a bound parameter (SEC-AUD-03).
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { SELECT_COLUMNS, rowToEvent } from './sqlite.js';
import type { AuditEvent } from './types.js';

/** Filters shared by every read; all optional, combined with AND. */
export interface AuditFilter {
  readonly instance?: string;
  readonly user?: string;
  readonly tenant?: string;
  readonly tool?: string;
  readonly outcome?: string;
  readonly event?: string;
  /** Inclusive lower bound, ISO 8601 UTC as stored (`toISOString()` form). */
  readonly since?: string;
  /** Exclusive upper bound, same form. */
  readonly until?: string;
}

/** A read: filters, then order (by insertion), an optional limit and a row id to start after. */
export interface AuditQuery extends AuditFilter {
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
  /** Only rows stored after this row id (`tail --follow`). */
  readonly afterRowId?: number;
}

/** An event and its row id (insertion order). */
export interface StoredEvent {
  readonly rowId: number;
  readonly event: AuditEvent;
}

const EQUALS: readonly (readonly [keyof AuditFilter, string])[] = [
  ['instance', 'instance'],
  ['user', 'user'],
  ['tenant', 'tenant'],
  ['tool', 'tool'],
  ['outcome', 'outcome'],
  ['event', 'event'],
];

function where(q: AuditQuery): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const [key, column] of EQUALS) {
    const value = q[key];
    if (value !== undefined) {
      clauses.push(`${column} = ?`);
      params.push(value);
    }
  }
  const ranges: readonly (readonly [string, unknown])[] = [
    ['time >= ?', q.since],
    ['time < ?', q.until],
    ['row_id > ?', q.afterRowId],
  ];
  for (const [clause, value] of ranges) {
    if (value !== undefined) {
      clauses.push(clause);
      params.push(value);
    }
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** The audit store, opened read-only. */
export class AuditReader {
  private constructor(private readonly db: Db) {}

  /** Opens `file` read-only; throws if it does not exist or is not an audit store. */
  static open(file: string): AuditReader {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const table: unknown = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
        .pluck()
        .get();
      if (table === undefined) throw new Error(`${file} is not a Portcullis audit database`);
      return new AuditReader(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Events matching `q`, by insertion order. */
  query(q: AuditQuery): StoredEvent[] {
    return [...this.iterate(q)];
  }

  /** Like `query`, one row at a time (`export` of a large range). */
  *iterate(q: AuditQuery): IterableIterator<StoredEvent> {
    const { sql, params } = where(q);
    const order = q.order === 'desc' ? 'DESC' : 'ASC';
    const limit = q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : '';
    const stmt = this.db.prepare(`SELECT ${SELECT_COLUMNS} FROM audit_events ${sql} ORDER BY row_id ${order} ${limit}`);
    for (const row of stmt.iterate(...params) as IterableIterator<Record<string, unknown>>) {
      yield { rowId: Number(row.row_id), event: rowToEvent(row) };
    }
  }

  /** The last `n` events matching `filter`, oldest first (`tail`). */
  tail(filter: AuditFilter, n: number): StoredEvent[] {
    return this.query({ ...filter, order: 'desc', limit: n }).reverse();
  }

  /** The instances that have events, sorted. */
  instances(): string[] {
    const rows = this.db.prepare('SELECT DISTINCT instance FROM audit_events ORDER BY instance').pluck().all();
    return rows.map(String);
  }

  /** Every event of `instance` in seq order, for `verifyChain`. */
  *chain(instance: string): IterableIterator<AuditEvent> {
    const stmt = this.db.prepare(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE instance = ? ORDER BY seq`);
    for (const row of stmt.iterate(instance) as IterableIterator<Record<string, unknown>>) yield rowToEvent(row);
  }

  /** The highest row id (0 when empty): where `tail --follow` starts. */
  maxRowId(): number {
    return Number(this.db.prepare('SELECT COALESCE(MAX(row_id), 0) FROM audit_events').pluck().get());
  }

  close(): void {
    this.db.close();
  }
}
