/**
 * The PostgreSQL audit sink, for clusters (DESIGN "Audit event", "Scaling out"): several gateways
 * write one table, each under its own `audit.instance`, and the primary key (instance, seq)
 * keeps each instance's hash chain unambiguous (SEC-AUD-04). Each batch is one transaction with
 * `synchronous_commit = on`, so `write` resolves only once the server has flushed the batch to
 * its WAL: a tool call is answered only when its event is durable here too (group commit).
 * Every value is a bound parameter (SEC-AUD-03); the table name, checked and quoted, is the only
 * identifier in the SQL. A bounded pool reconnects by itself when the database comes back; a
 * connection that failed mid-batch is closed, never reused.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from '../observability/log.js';
import {
  PG_ARRAY_TYPES,
  PG_COLUMNS,
  PG_SELECT,
  checkTableName,
  connectionConfig,
  ensureTable,
  ident,
  safeUrl,
  scrubbed,
} from './postgresSchema.js';
import type { PostgresTarget } from './postgresSchema.js';
import { AuditConflictError, COLUMNS, rowToEvent } from './sqlite.js';
import type { AuditEvent, AuditSink } from './types.js';

/** Connections in the pool: batches are written one at a time, reads happen at start. */
const POOL_SIZE = 4;

/** Events per INSERT statement (a backlog can be long; all of a batch stay in one transaction). */
const CHUNK_EVENTS = 1000;

/** SQLSTATE of a duplicate key: some of the batch is already stored. */
const UNIQUE_VIOLATION = '23505';

/** Options of `PostgresAuditSink.open`. */
export interface PostgresSinkOptions {
  /** Where pool errors of idle connections are reported. */
  readonly logger?: Pick<Logger, 'warn'>;
  /** Connection attempt timeout, ms (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** Each event field as one array, in column order: the parameters of the `unnest` insert. */
function columnArrays(batch: readonly AuditEvent[]): unknown[][] {
  return COLUMNS.map(([field]) =>
    batch.map((e) => (field === 'roles' ? (e.roles === null ? null : JSON.stringify(e.roles)) : e[field])),
  );
}

export class PostgresAuditSink implements AuditSink {
  readonly name = 'postgres';
  private closed = false;
  /** Connections whose session already has `synchronous_commit = on`. */
  private readonly durable = new WeakSet<PoolClient>();
  private readonly plainInsertSql: string;
  private readonly insertSql: string;
  private readonly storedSql: string;
  private readonly lastSql: string;
  private readonly afterSql: string;

  private constructor(
    private readonly pool: pg.Pool,
    readonly table: string,
  ) {
    const t = ident(table);
    const [instance, seq, hash] = [ident('instance'), ident('seq'), ident('hash')];
    const casts = PG_ARRAY_TYPES.map((type, i) => `$${i + 1}::${type}`).join(', ');
    this.plainInsertSql = `INSERT INTO ${t} (${PG_COLUMNS}) SELECT * FROM unnest(${casts})`;
    this.insertSql = `${this.plainInsertSql} ON CONFLICT (${instance}, ${seq}) DO NOTHING`;
    this.storedSql = `SELECT s.${instance}, s.${seq}, s.${hash} FROM ${t} s
      JOIN unnest($1::text[], $2::bigint[]) AS k(instance, seq) ON s.${instance} = k.instance AND s.${seq} = k.seq`;
    this.lastSql = `SELECT ${PG_SELECT} FROM ${t} WHERE ${instance} = $1 ORDER BY ${seq} DESC LIMIT 1`;
    this.afterSql = `SELECT ${PG_SELECT} FROM ${t} WHERE ${instance} = $1 AND ${seq} > $2 ORDER BY ${seq} LIMIT $3`;
  }

  /**
   * Connects, creates the table if it is missing (or checks its schema version) and returns the
   * sink. Rejects when the database cannot be reached: without the instance's last row the chain
   * cannot be continued, so the gateway does not start (fail closed). Errors name the database
   * by `safeUrl`, never with its password.
   */
  static async open(target: PostgresTarget, opts: PostgresSinkOptions = {}): Promise<PostgresAuditSink> {
    const table = checkTableName(target.table);
    const pool = new pg.Pool(
      connectionConfig(target.url, {
        max: POOL_SIZE,
        idleTimeoutMillis: 30_000,
        ...(opts.connectTimeoutMs !== undefined && { connectionTimeoutMillis: opts.connectTimeoutMs }),
      }),
    );
    // An idle connection that breaks (server restart, network) is dropped by the pool; without a
    // listener the 'error' event would take the process down.
    pool.on('error', (err) =>
      opts.logger?.warn({ err: scrubbed(err, target.url) }, 'idle PostgreSQL audit connection lost; it will reconnect'),
    );
    try {
      const client = await pool.connect();
      try {
        await ensureTable(client, table, true);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(
        `cannot open the PostgreSQL audit table ${table} at ${safeUrl(target.url)}: ${scrubbed(err, target.url)}`,
      );
    }
    return new PostgresAuditSink(pool, table);
  }

  async last(instance: string): Promise<AuditEvent | undefined> {
    const { rows } = await this.pool.query<Record<string, unknown>>(this.lastSql, [instance]);
    return rows[0] === undefined ? undefined : rowToEvent(rows[0]);
  }

  /** Up to `limit` events of `instance` after `seq`, in seq order: catches a lagging sink up at start. */
  async eventsAfter(instance: string, seq: number, limit: number): Promise<AuditEvent[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(this.afterSql, [instance, seq, limit]);
    return rows.map(rowToEvent);
  }

  /**
   * Stores the batch in one transaction: usually a single INSERT statement (one round trip,
   * atomic and durable when it returns). A retried batch may already be stored (its COMMIT
   * reached the server but the answer was lost): then, and for a long backlog, an explicit
   * transaction skips rows stored with the same hash; a different event at the same
   * (instance, seq) means another gateway writes under this instance name, and the batch is
   * refused rather than forking the chain.
   */
  async write(batch: readonly AuditEvent[]): Promise<void> {
    if (this.closed) throw new Error('audit sink is closed');
    if (batch.length === 0) return;
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      // Durable at COMMIT whatever the server, role or URL defaults say.
      if (!this.durable.has(client)) {
        await client.query('SET synchronous_commit = on');
        this.durable.add(client);
      }
      if (batch.length <= CHUNK_EVENTS) {
        try {
          await client.query(this.plainInsertSql, columnArrays(batch));
          return;
        } catch (err) {
          if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
        }
      }
      await client.query('BEGIN');
      for (let i = 0; i < batch.length; i += CHUNK_EVENTS) {
        const chunk = batch.slice(i, i + CHUNK_EVENTS);
        const inserted = await client.query(this.insertSql, columnArrays(chunk));
        if (inserted.rowCount !== chunk.length) await this.checkStored(client, chunk);
      }
      await client.query('COMMIT');
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      throw failed;
    } finally {
      // A connection whose transaction state is unknown is closed (the server rolls it back).
      client.release(failed);
    }
  }

  /** Throws `AuditConflictError` if a row of `chunk` is stored with a different hash. */
  private async checkStored(client: PoolClient, chunk: readonly AuditEvent[]): Promise<void> {
    const { rows } = await client.query<{ instance: string; seq: string; hash: string }>(this.storedSql, [
      chunk.map((e) => e.instance),
      chunk.map((e) => e.seq),
    ]);
    const mine = new Map(chunk.map((e) => [`${e.seq}\n${e.instance}`, e.hash]));
    for (const row of rows) {
      if (mine.get(`${row.seq}\n${row.instance}`) !== row.hash) {
        throw new AuditConflictError(`audit seq ${row.seq} of instance ${row.instance} is already stored`);
      }
    }
  }

  /** Whether the database answers and takes inserts into the table (not a read-only standby). */
  async writable(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const { rows } = await this.pool.query<{ ok: boolean }>(
        "SELECT has_table_privilege($1, 'INSERT') AND NOT pg_is_in_recovery() AS ok",
        [ident(this.table)],
      );
      return rows[0]?.ok === true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
