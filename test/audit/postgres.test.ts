/**
 * The PostgreSQL sink against the machine's real server: its table (primary key, schema version),
 * an exact round trip, idempotent and atomic batches, the chain continued after a restart, a
 * JSONL copy caught up from it, config, and an unreachable database named without its password.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HEAD, headAfter, verifyChain } from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import { JsonlAuditSink, parseEventLine } from '../../src/audit/jsonl.js';
import { PostgresAuditSink } from '../../src/audit/postgres.js';
import { AuditConflictError } from '../../src/audit/sqlite.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { loadConfigText } from '../../src/config/load.js';
import { PortcullisError } from '../../src/errors.js';
import { callInput, captureLogger, tempDir } from './helpers.js';
import { PG_URL, adminClient, closedPort, dropTables, postgresAuditConfig, uniqueTable } from './postgresHelpers.js';

const TABLE = uniqueTable('sink');
const OTHER = uniqueTable('sink_other');
let admin: pg.Client;
const { dir, cleanup } = tempDir();

beforeAll(async () => {
  admin = await adminClient();
});
afterAll(async () => {
  await admin.end();
  await dropTables(TABLE, OTHER);
  cleanup();
});

/** `n` sealed events of `instance` after `head`, with awkward values in the fields. */
function chainOf(n: number, instance: string, head = GENESIS_HEAD): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 1; i <= n; i++) {
    const input = callInput(head.lastSeq + i, {
      user: i % 2 === 0 ? 'o\'brien"); DROP TABLE x; --' : 'alice',
      roles: ['user', 'back\\slash', '{"json"}', 'ünï€ode 🚀'],
      reason: i % 3 === 0 ? 'tool_not_allowed' : undefined,
      latencyMs: i === 1 ? 0.1 + 0.2 : 12.345,
      arguments: { note: 'line\nbreak\u0000nul', n: i },
    });
    const event = chainEvent(describeEvent(input, instance, Date.UTC(2026, 10, 24, 8, 0, i)), head);
    events.push(event);
    head = headAfter(event);
  }
  return events;
}

async function storedRows(instance: string, table = TABLE): Promise<AuditEvent[]> {
  const sink = await PostgresAuditSink.open({ url: PG_URL, table });
  try {
    return await sink.eventsAfter(instance, 0, 1_000_000);
  } finally {
    await sink.close();
  }
}

describe('PostgresAuditSink', () => {
  it('creates its table once, keyed by (instance, seq), marked with its schema version', async () => {
    const [a, b] = await Promise.all([
      PostgresAuditSink.open({ url: PG_URL, table: TABLE }),
      PostgresAuditSink.open({ url: PG_URL, table: TABLE }),
    ]);
    expect(await a.writable()).toBe(true);
    await Promise.all([a.close(), b.close()]);
    expect(await a.writable()).toBe(false);
    const pk = await admin.query<{ col: string }>(
      `SELECT a.attname AS col FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [TABLE],
    );
    expect(pk.rows.map((r) => r.col)).toEqual(['instance', 'seq']);
    const comment = await admin.query<{ c: string }>("SELECT obj_description($1::regclass, 'pg_class') AS c", [TABLE]);
    expect(comment.rows[0]?.c).toBe('portcullis audit events, schema 1');
  });

  it('stores every field and reads the events back exactly; the chain verifies', async () => {
    const sink = await PostgresAuditSink.open({ url: PG_URL, table: TABLE });
    const events = chainOf(12, 'exact');
    await sink.write(events.slice(0, 5));
    await sink.write(events.slice(5));
    expect(await sink.last('exact')).toEqual(events[11]);
    expect(await sink.last('nobody')).toBeUndefined();
    await sink.close();
    const back = await storedRows('exact');
    expect(back).toEqual(events);
    expect(verifyChain(back)).toMatchObject({ ok: true, count: 12 });
    const raw = await admin.query(
      `SELECT "user", roles FROM ${pg.escapeIdentifier(TABLE)} WHERE instance = 'exact' AND seq = 2`,
    );
    expect(raw.rows[0]).toEqual({
      user: 'o\'brien"); DROP TABLE x; --',
      roles: JSON.stringify(['user', 'back\\slash', '{"json"}', 'ünï€ode 🚀']),
    });
  });

  it('skips a batch it already stored, refuses a different event at a stored seq, and stores none of that batch', async () => {
    const sink = await PostgresAuditSink.open({ url: PG_URL, table: TABLE });
    const events = chainOf(4, 'retry');
    await sink.write(events.slice(0, 2));
    await sink.write(events); // the first two again (a retried batch whose COMMIT had landed)
    const fork = chainOf(6, 'retry'); // same seqs, other ids and hashes: another writer under this name
    await expect(sink.write(fork.slice(3))).rejects.toBeInstanceOf(AuditConflictError);
    await sink.close();
    const back = await storedRows('retry');
    expect(back).toEqual(events); // seq 5 and 6 of the refused batch were not stored either
  });

  it('commits with synchronous_commit on even when the URL turns it off for the session', async () => {
    const url = `${PG_URL}?options=${encodeURIComponent('-c synchronous_commit=off')}`;
    const sink = await PostgresAuditSink.open({ url, table: TABLE });
    const pool = (sink as unknown as { pool: pg.Pool }).pool;
    expect((await pool.query<{ s: string }>('SELECT current_setting($1) AS s', ['synchronous_commit'])).rows).toEqual([
      { s: 'off' },
    ]);
    await sink.write(chainOf(2, 'sync'));
    // The one connection the pool holds is the one that wrote.
    expect(pool.totalCount).toBe(1);
    expect((await pool.query<{ s: string }>('SELECT current_setting($1) AS s', ['synchronous_commit'])).rows).toEqual([
      { s: 'on' },
    ]);
    await sink.close();
  });

  it('writes a backlog longer than one statement in one transaction', async () => {
    const sink = await PostgresAuditSink.open({ url: PG_URL, table: TABLE });
    const events = chainOf(2500, 'long');
    await sink.write(events);
    await sink.close();
    const back = await storedRows('long');
    expect(back).toHaveLength(2500);
    expect(verifyChain(back)).toMatchObject({ ok: true, count: 2500 });
  });

  it('a restarted trail continues the instance chain from its last row', async () => {
    const config = postgresAuditConfig(TABLE, { instance: 'restart' });
    const { logger } = captureLogger();
    for (const round of [1, 2, 3]) {
      const trail = await createAuditTrail(config, { logger });
      expect(trail.stats().head.lastSeq).toBe((round - 1) * 5);
      await Promise.all([1, 2, 3, 4, 5].map((i) => trail.commit(callInput(round * 10 + i))));
      await trail.close();
    }
    const back = await storedRows('restart');
    expect(back.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(verifyChain(back)).toMatchObject({ ok: true, count: 15 });
  });

  it('catches a JSON-lines copy that fell behind up from PostgreSQL at start', async () => {
    const { logger, lines } = captureLogger();
    const pgOnly = postgresAuditConfig(TABLE, { instance: 'lagging' });
    const first = await createAuditTrail(pgOnly, { logger });
    await Promise.all([1, 2, 3].map((i) => first.commit(callInput(i))));
    await first.close();
    const jsonlFile = path.join(dir, 'lagging.jsonl');
    const jsonl = await JsonlAuditSink.open(jsonlFile);
    await jsonl.write((await storedRows('lagging')).slice(0, 1));
    await jsonl.close();

    const second = await createAuditTrail({ ...pgOnly, jsonl: { path: jsonlFile } }, { logger });
    await second.commit(callInput(4));
    await second.close();
    expect(lines.join('')).toContain('audit sink is behind the chain head; catching it up');
    const fromJsonl = readFileSync(jsonlFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => parseEventLine(l)!);
    expect(fromJsonl).toEqual(await storedRows('lagging'));
    expect(verifyChain(fromJsonl)).toMatchObject({ ok: true, count: 4 });
  });

  it('refuses a table that is not a Portcullis audit table, or is of a newer schema', async () => {
    const other = pg.escapeIdentifier(OTHER);
    await admin.query(`CREATE TABLE ${other} (x int)`);
    await expect(PostgresAuditSink.open({ url: PG_URL, table: OTHER })).rejects.toThrow(
      `table ${OTHER} exists but is not a Portcullis audit table`,
    );
    await admin.query(`COMMENT ON TABLE ${other} IS 'portcullis audit events, schema 99'`);
    await expect(PostgresAuditSink.open({ url: PG_URL, table: OTHER })).rejects.toThrow(
      'has schema version 99, newer than this gateway',
    );
    await expect(PostgresAuditSink.open({ url: PG_URL, table: 'bad"name' })).rejects.toThrow(/must match/);
  });

  it('an unreachable database fails the open, named without its password', async () => {
    const url = `postgres://auditor:s3cret-pw@127.0.0.1:${await closedPort()}/test?password=s3cret-pw`;
    const open = PostgresAuditSink.open({ url, table: TABLE });
    await expect(open).rejects.toThrow(
      /^cannot open the PostgreSQL audit table t_sink_\w+ at postgres:\/\/auditor@127\.0\.0\.1:\d+\/test: /,
    );
    const message = await open.catch((err: Error) => err.message);
    expect(message).not.toContain('s3cret');
    // The gateway's trail does not start on it (it could not continue the chain).
    const config = postgresAuditConfig(TABLE, {}, url);
    await expect(createAuditTrail(config, { logger: captureLogger().logger })).rejects.toThrow(/cannot open/);
  });
});

describe('audit.postgres config', () => {
  const base = `auth: { issuers: [{ issuer: urn:t, algorithms: [HS256], secret: '${'x'.repeat(40)}' }] }\n`;
  const load = (audit: string, env: Record<string, string> = {}) =>
    loadConfigText(`${base}${audit}`, { env, baseDir: dir });
  const problems = (audit: string, env: Record<string, string> = {}): string[] => {
    try {
      load(audit, env);
    } catch (err) {
      return [...((err as PortcullisError).problems ?? [])];
    }
    return [];
  };

  it('takes a URL from the environment and the default table; SQLite stays the default store', () => {
    expect(load('').audit.postgres).toBeUndefined();
    expect(load('').audit.sqlite).toBeDefined();
    const config = load('audit: { sqlite: false, postgres: { url: "${env:AUDIT_PG}" } }', {
      AUDIT_PG: 'postgres://app:pw@db:5432/audit',
    });
    expect(config.audit).toMatchObject({
      postgres: { url: 'postgres://app:pw@db:5432/audit', table: 'portcullis_audit' },
    });
    expect(config.audit.sqlite).toBeUndefined();
    expect(load('audit: { postgres: { url: "postgresql://h/db", table: Audit_2 } }').audit.postgres?.table).toBe(
      'Audit_2',
    );
  });

  it('lists bad URLs and table names without quoting the URL', () => {
    expect(problems('audit: { postgres: { url: "mysql://u:topsecret@h/db" } }')).toEqual([
      '/audit/postgres/url: must match pattern "^postgres(ql)?://"',
      '/audit/postgres/url: must be postgres:// or postgresql://',
    ]);
    expect(problems('audit: { postgres: { url: "postgres://u:topsecret@h" } }')).toEqual([
      '/audit/postgres/url: no database name (postgres://host/DATABASE)',
    ]);
    expect(problems('audit: { postgres: { url: "postgres://h/db", table: "a;drop" } }')).toEqual([
      '/audit/postgres/table: must match pattern "^[A-Za-z_][A-Za-z0-9_]{0,47}$"',
    ]);
    expect(problems('audit: { sqlite: false }')).toEqual([
      '/audit: at least one sink (sqlite, postgres or jsonl) is required',
    ]);
    expect(() => load('audit: { postgres: { url: "postgres://h/db", pool: 3 } }')).toThrow(PortcullisError);
  });
});
