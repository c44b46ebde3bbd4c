/**
 * The PostgreSQL audit table shared by the sink and the CLI's reader: its name rules, its DDL
 * (one column per event field, as in SQLite), the schema version kept in the table's comment,
 * the connection settings, and a URL form that is safe to log (never the password).
 */
import pg from 'pg';
import type { ClientBase, PoolConfig } from 'pg';
import { COLUMNS } from './sqlite.js';

/** Bumped when the table changes; a gateway refuses a table newer than it knows. */
export const POSTGRES_SCHEMA_VERSION = 1;

/**
 * Table names: one plain identifier, short enough that every index name derived from it fits
 * PostgreSQL's 63-byte limit. It is the only identifier put into SQL text, and it is quoted.
 */
export const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** How the table says what it is (COMMENT ON TABLE), with the version after it. */
const COMMENT_PREFIX = 'portcullis audit events, schema ';

/** Where a PostgreSQL store is and what it is called. */
export interface PostgresTarget {
  /** `postgres://user:password@host:port/database?sslmode=…` */
  readonly url: string;
  readonly table: string;
}

/** A quoted identifier. */
export const ident = (name: string): string => pg.escapeIdentifier(name);

/** Every column of the event, quoted, in table order. */
export const PG_COLUMNS = COLUMNS.map(([, c]) => ident(c)).join(', ');

/** The select list that `rowToEvent` reads (plus `row_id`). */
export const PG_SELECT = `${ident('row_id')}, ${PG_COLUMNS}`;

/** Column types; the rest are TEXT. `time` sorts bytewise, so range filters never depend on the collation. */
const TYPES: Readonly<Record<string, string>> = {
  seq: 'BIGINT',
  time: 'TEXT COLLATE "C"',
  latency_ms: 'DOUBLE PRECISION',
};
const NOT_NULL = new Set(['seq', 'id', 'time', 'instance', 'event', 'prev_hash', 'hash']);

/** `unnest` casts of the insert, per column: every event field is bound as one array. */
export const PG_ARRAY_TYPES = COLUMNS.map(
  ([, c]) => (({ seq: 'bigint[]', latency_ms: 'float8[]' }) as Record<string, string>)[c] ?? 'text[]',
);

/** A table name that fits the rules, or an error naming it. */
export function checkTableName(table: string): string {
  if (!TABLE_NAME_PATTERN.test(table)) {
    throw new Error(`audit table name '${table}' must match ${TABLE_NAME_PATTERN.source}`);
  }
  return table;
}

/**
 * The DDL of a new table. The primary key (instance, seq) makes each instance's chain
 * unambiguous when several gateways write one table; `row_id` keeps insertion order for
 * `tail` and `query`.
 */
function createStatements(table: string): string[] {
  const t = ident(table);
  const columns = COLUMNS.map(([, c]) => `${ident(c)} ${TYPES[c] ?? 'TEXT'}${NOT_NULL.has(c) ? ' NOT NULL' : ''}`);
  return [
    `CREATE TABLE ${t} (
      ${ident('row_id')} BIGINT GENERATED ALWAYS AS IDENTITY,
      ${columns.join(',\n      ')},
      PRIMARY KEY (${ident('instance')}, ${ident('seq')})
    )`,
    `CREATE UNIQUE INDEX ${ident(`${table}_row_id`)} ON ${t} (${ident('row_id')})`,
    ...['time', 'user', 'tenant', 'tool'].map((c) => `CREATE INDEX ${ident(`${table}_${c}`)} ON ${t} (${ident(c)})`),
    `COMMENT ON TABLE ${t} IS '${COMMENT_PREFIX}${POSTGRES_SCHEMA_VERSION}'`,
  ];
}

/**
 * Checks that `table` is a Portcullis audit table of a version this gateway knows, creating it
 * when it is missing and `create` is set. Runs in one transaction under an advisory lock, so
 * gateways starting together create it once.
 */
export async function ensureTable(client: ClientBase, table: string, create: boolean): Promise<void> {
  const t = ident(checkTableName(table));
  await client.query('BEGIN');
  try {
    if (create) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-audit:${table}`]);
    const found = await client.query<{ oid: string | null; comment: string | null }>(
      "SELECT to_regclass($1)::oid AS oid, obj_description(to_regclass($1), 'pg_class') AS comment",
      [t],
    );
    const row = found.rows[0];
    if (row?.oid === null || row?.oid === undefined) {
      if (!create) throw new Error(`there is no audit table ${table} (has a gateway written to it?)`);
      for (const sql of createStatements(table)) await client.query(sql);
    } else {
      const comment = row.comment ?? '';
      const version = comment.startsWith(COMMENT_PREFIX) ? Number(comment.slice(COMMENT_PREFIX.length)) : NaN;
      if (!Number.isSafeInteger(version)) throw new Error(`table ${table} exists but is not a Portcullis audit table`);
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(`audit table ${table} has schema version ${version}, newer than this gateway's`);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Connection settings shared by the sink's pool and the reader's client. */
export function connectionConfig(url: string, extra: PoolConfig = {}): PoolConfig {
  return {
    connectionString: url,
    application_name: 'portcullis-audit',
    connectionTimeoutMillis: 5000,
    // A hung server or network must fail a batch (it is retried) rather than stall the trail.
    query_timeout: 15_000,
    keepAlive: true,
    ...extra,
  };
}

/**
 * The URL without its password or query (which may hold one), for logs and errors: the user,
 * host, port and database are enough to find it.
 */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** `err`'s message with the URL's password (if any) blanked out, whatever the driver put in it. */
export function scrubbed(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message : String(err);
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // an unparsable URL: nothing to scrub
  }
  return password.length > 0 ? message.split(password).join('***') : message;
}
