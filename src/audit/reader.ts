/**
 * Read-only access to the SQLite audit store, for `portcullis audit` (tail, query, verify,
 * export). The database is opened read-only, so the CLI can never alter the evidence it reads;
 * every filter is a bound parameter (SEC-AUD-03). `AuditSource` is what the CLI reads, from this
 * file or from a PostgreSQL table (postgresReader.ts).
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

/** What `portcullis audit` reads: the same questions of a SQLite file or a PostgreSQL table. */
export interface AuditSource {
  /** Events matching `q`, by insertion order. */
  query(q: AuditQuery): Promise<StoredEvent[]>;
  /** The last `n` events matching `filter`, oldest first (`tail`). */
  tail(filter: AuditFilter, n: number): Promise<StoredEvent[]>;
  /** Every event matching `filter`, by insertion order, a page at a time (`export`). */
  pages(filter: AuditFilter): Pages<StoredEvent>;
  /** The instances that have events, sorted. */
  instances(): Promise<string[]>;
  /** Every event of `instance` in seq order, a page at a time (`verify`). */
  chainPages(instance: string): Pages<AuditEvent>;
  /** Starts following the store from its current end (`tail --follow`). */
  follow(filter: AuditFilter): Promise<AuditFollower>;
  close(): Promise<void>;
}

/** New events as they are stored, each once. */
export interface AuditFollower {
  /** Events already printed (the initial tail): never returned by `poll`. */
  seen(rows: readonly StoredEvent[]): void;
  /** Events matching the filter stored since the last poll (or the start). */
  poll(): Promise<StoredEvent[]>;
}

/** Pages of rows, read with `for await` (SQLite reads them synchronously). */
export type Pages<T> = Iterable<readonly T[]> | AsyncIterable<readonly T[]>;

/** Rows per page of `pages` and `chainPages`. */
export const PAGE_ROWS = 5000;

/** Splits an iterator into arrays of `size`. */
function* chunked<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let page: T[] = [];
  for (const item of items) {
    page.push(item);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

const EQUALS: readonly (keyof AuditFilter)[] = ['instance', 'user', 'tenant', 'tool', 'outcome', 'event'];

/** One condition of a query's filter; every store renders it with its own placeholders. */
export type FilterCondition = readonly [column: string, op: '=' | '>=' | '<' | '>', value: unknown];

/** The conditions a query sets (each column is named as in both stores). */
export function filterConditions(q: AuditQuery): FilterCondition[] {
  const out: FilterCondition[] = [];
  for (const key of EQUALS) if (q[key] !== undefined) out.push([key, '=', q[key]]);
  if (q.since !== undefined) out.push(['time', '>=', q.since]);
  if (q.until !== undefined) out.push(['time', '<', q.until]);
  if (q.afterRowId !== undefined) out.push(['row_id', '>', q.afterRowId]);
  return out;
}

function where(q: AuditQuery): { sql: string; params: unknown[] } {
  const conditions = filterConditions(q);
  const sql = conditions.map(([column, op]) => `${column} ${op} ?`).join(' AND ');
  return { sql: sql ? `WHERE ${sql}` : '', params: conditions.map(([, , value]) => value) };
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

/** The SQLite store as an `AuditSource`. A single writer stores rows in row id order. */
export class SqliteAuditSource implements AuditSource {
  constructor(private readonly reader: AuditReader) {}

  static open(file: string): SqliteAuditSource {
    return new SqliteAuditSource(AuditReader.open(file));
  }

  query(q: AuditQuery): Promise<StoredEvent[]> {
    return Promise.resolve(this.reader.query(q));
  }

  tail(filter: AuditFilter, n: number): Promise<StoredEvent[]> {
    return Promise.resolve(this.reader.tail(filter, n));
  }

  pages(filter: AuditFilter): Pages<StoredEvent> {
    return chunked(this.reader.iterate(filter), PAGE_ROWS);
  }

  instances(): Promise<string[]> {
    return Promise.resolve(this.reader.instances());
  }

  chainPages(instance: string): Pages<AuditEvent> {
    return chunked(this.reader.chain(instance), PAGE_ROWS);
  }

  follow(filter: AuditFilter): Promise<AuditFollower> {
    let cursor = this.reader.maxRowId();
    const seen = (rows: readonly StoredEvent[]): void => {
      for (const row of rows) cursor = Math.max(cursor, row.rowId);
    };
    return Promise.resolve({
      seen,
      poll: () => {
        const rows = this.reader.query({ ...filter, afterRowId: cursor });
        seen(rows);
        return Promise.resolve(rows);
      },
    });
  }

  close(): Promise<void> {
    this.reader.close();
    return Promise.resolve();
  }
}
