/**
 * Read-only access to the PostgreSQL audit table, for `portcullis audit` (tail, query, verify,
 * export). The session is read-only (the CLI cannot alter the evidence it reads) and every
 * filter is a bound parameter (SEC-AUD-03). Long reads (`verify`, `export`) page through one
 * REPEATABLE READ snapshot; `tail --follow` follows each instance by `seq`, since an instance
 * commits its events in seq order while row ids of several gateways may commit out of order.
 */
import pg from 'pg';
import {
  PG_SELECT,
  checkTableName,
  connectionConfig,
  ensureTable,
  ident,
  safeUrl,
  scrubbed,
} from './postgresSchema.js';
import type { PostgresTarget } from './postgresSchema.js';
import { PAGE_ROWS, filterConditions } from './reader.js';
import type { AuditFilter, AuditFollower, AuditQuery, AuditSource, StoredEvent } from './reader.js';
import { rowToEvent } from './sqlite.js';
import type { AuditEvent } from './types.js';

type Row = Record<string, unknown>;

/** At most this many events of one instance per `tail --follow` poll. */
const FOLLOW_ROWS = 10_000;

/** The WHERE clauses of `q`, their values appended to `params` (placeholders numbered after them). */
function clauses(q: AuditQuery, params: unknown[]): string[] {
  return filterConditions(q).map(([column, op, value]) => {
    params.push(value);
    return `${ident(column)} ${op} $${params.length}`;
  });
}

const whereOf = (list: readonly string[]): string => (list.length > 0 ? `WHERE ${list.join(' AND ')}` : '');

const stored = (row: Row): StoredEvent => ({ rowId: Number(row.row_id), event: rowToEvent(row) });

export class PostgresAuditSource implements AuditSource {
  private readonly t: string;

  private constructor(
    private readonly client: pg.Client,
    table: string,
  ) {
    this.t = ident(table);
  }

  /** Connects read-only and checks the table; errors name the database without its password. */
  static async open(target: PostgresTarget): Promise<PostgresAuditSource> {
    const table = checkTableName(target.table);
    const client = new pg.Client(connectionConfig(target.url));
    client.on('error', () => undefined); // a lost connection fails the query in flight, which reports it
    try {
      await client.connect();
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
      await ensureTable(client, table, false);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new Error(
        `cannot read the PostgreSQL audit table ${table} at ${safeUrl(target.url)}: ${scrubbed(err, target.url)}`,
      );
    }
    return new PostgresAuditSource(client, table);
  }

  async query(q: AuditQuery): Promise<StoredEvent[]> {
    const params: unknown[] = [];
    const where = whereOf(clauses(q, params));
    let limit = '';
    if (q.limit !== undefined) {
      params.push(Math.max(0, Math.floor(q.limit)));
      limit = `LIMIT $${params.length}`;
    }
    const order = q.order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT ${PG_SELECT} FROM ${this.t} ${where} ORDER BY ${ident('row_id')} ${order} ${limit}`;
    const { rows } = await this.client.query<Row>(sql, params);
    return rows.map(stored);
  }

  async tail(filter: AuditFilter, n: number): Promise<StoredEvent[]> {
    return (await this.query({ ...filter, order: 'desc', limit: n })).reverse();
  }

  async *pages(filter: AuditFilter): AsyncIterable<readonly StoredEvent[]> {
    yield* this.snapshot(async function* (self) {
      let after = 0;
      for (;;) {
        const page = await self.query({ ...filter, afterRowId: after, limit: PAGE_ROWS });
        if (page.length > 0) yield page;
        if (page.length < PAGE_ROWS) return;
        after = page[page.length - 1]!.rowId;
      }
    });
  }

  async instances(): Promise<string[]> {
    return [...(await this.heads()).keys()];
  }

  async *chainPages(instance: string): AsyncIterable<readonly AuditEvent[]> {
    const [inst, seq] = [ident('instance'), ident('seq')];
    const sql = `SELECT ${PG_SELECT} FROM ${this.t} WHERE ${inst} = $1 AND ${seq} > $2 ORDER BY ${seq} LIMIT $3`;
    yield* this.snapshot(async function* (self) {
      let after = 0;
      for (;;) {
        const { rows } = await self.client.query<Row>(sql, [instance, after, PAGE_ROWS]);
        const page = rows.map(rowToEvent);
        if (page.length > 0) yield page;
        if (page.length < PAGE_ROWS) return;
        after = page[page.length - 1]!.seq;
      }
    });
  }

  async follow(filter: AuditFilter): Promise<AuditFollower> {
    const cursor = await this.heads();
    const seen = (rows: readonly StoredEvent[]): void => {
      for (const { event } of rows) cursor.set(event.instance, Math.max(cursor.get(event.instance) ?? 0, event.seq));
    };
    const poll = async (): Promise<StoredEvent[]> => {
      // Each instance up to the head it had when this poll began: its earlier events are committed.
      const ranges = [...(await this.heads())]
        .map(([instance, head]) => {
          const after = cursor.get(instance) ?? 0;
          return { instance, after, upto: Math.min(head, after + FOLLOW_ROWS) };
        })
        .filter((r) => r.upto > r.after);
      if (ranges.length === 0) return [];
      const params: unknown[] = [ranges.map((r) => r.instance), ranges.map((r) => r.after), ranges.map((r) => r.upto)];
      const where = whereOf(clauses(filter, params));
      const { rows } = await this.client.query<Row>(
        `SELECT ${PG_SELECT} FROM ${this.t}
         JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(ci, cafter, cupto)
           ON ${ident('instance')} = c.ci AND ${ident('seq')} > c.cafter AND ${ident('seq')} <= c.cupto
         ${where} ORDER BY ${ident('row_id')}`,
        params,
      );
      for (const r of ranges) cursor.set(r.instance, r.upto);
      return rows.map(stored);
    };
    return { seen, poll };
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  /**
   * Each instance and its highest seq, sorted by instance: a skip scan of the primary key (one
   * index probe per instance), not a scan of the table.
   */
  private async heads(): Promise<Map<string, number>> {
    const [t, inst, seq] = [this.t, ident('instance'), ident('seq')];
    const { rows } = await this.client.query<{ instance: string; seq: string }>(
      `WITH RECURSIVE i(instance) AS (
         (SELECT ${inst} FROM ${t} ORDER BY ${inst} LIMIT 1)
         UNION ALL
         SELECT (SELECT ${inst} FROM ${t} WHERE ${inst} > i.instance ORDER BY ${inst} LIMIT 1)
         FROM i WHERE i.instance IS NOT NULL
       )
       SELECT i.instance, (SELECT max(${seq}) FROM ${t} WHERE ${inst} = i.instance) AS seq
       FROM i WHERE i.instance IS NOT NULL`,
    );
    return new Map(rows.map((r) => [r.instance, Number(r.seq)]));
  }

  /** Runs `read`'s pages inside one read-only REPEATABLE READ transaction. */
  private async *snapshot<T>(read: (self: this) => AsyncGenerator<T>): AsyncGenerator<T> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      yield* read(this);
    } finally {
      await this.client.query('COMMIT');
    }
  }
}
