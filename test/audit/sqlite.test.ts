/** The SQLite sink: file modes, pragmas, round trip, idempotent retry, and tampering detected by verify (O-13). */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HEAD, headAfter, verifyChain } from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import { AuditReader } from '../../src/audit/reader.js';
import { AuditConflictError, SqliteAuditSink } from '../../src/audit/sqlite.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { loadConfigText } from '../../src/config/load.js';
import { PortcullisError } from '../../src/errors.js';
import { callInput, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function chainOf(n: number, instance = 'inst'): AuditEvent[] {
  const events: AuditEvent[] = [];
  let head = GENESIS_HEAD;
  for (let i = 1; i <= n; i++) {
    const input = callInput(i, i % 3 === 0 ? { user: 'bob', tenant: 'globex', outcome: 'denied' } : {});
    const event = chainEvent(describeEvent(input, instance, Date.UTC(2026, 10, 24, 8, 0, i)), head);
    events.push(event);
    head = headAfter(event);
  }
  return events;
}

async function store(file: string, events: readonly AuditEvent[]): Promise<void> {
  const sink = SqliteAuditSink.open(file);
  await sink.write(events);
  await sink.close();
}

function verifyFile(file: string) {
  const reader = AuditReader.open(file);
  try {
    return verifyChain(reader.chain('inst'));
  } finally {
    reader.close();
  }
}

describe('SqliteAuditSink', () => {
  it('creates the file 0600 in a 0700 directory, in WAL mode with synchronous FULL', async () => {
    const file = path.join(dir, 'state', 'audit.sqlite');
    const sink = SqliteAuditSink.open(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(await sink.writable()).toBe(true);
    await sink.close();
    expect(await sink.writable()).toBe(false);
  });

  it('fsyncs every COMMIT by default (synchronous FULL); NORMAL only when asked for', async () => {
    const level = (sink: SqliteAuditSink): unknown =>
      (sink as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
    const full = SqliteAuditSink.open(path.join(dir, 'full.sqlite'));
    const normal = SqliteAuditSink.open(path.join(dir, 'normal.sqlite'), 'normal');
    expect([level(full), level(normal)]).toEqual([2, 1]);
    await full.close();
    await normal.close();
    const base = `auth: { issuers: [{ issuer: urn:t, algorithms: [HS256], secret: '${'x'.repeat(40)}' }] }\n`;
    const load = (audit: string) => loadConfigText(`${base}${audit}`, { env: {}, baseDir: dir });
    expect(load('').audit.sqlite?.synchronous).toBe('full');
    expect(load('audit: { sqlite: { synchronous: normal } }').audit.sqlite?.synchronous).toBe('normal');
    expect(() => load('audit: { sqlite: { synchronous: off } }')).toThrow(PortcullisError);
  });

  it('stores every field and reads the events back exactly (the chain verifies)', async () => {
    const file = path.join(dir, 'audit.sqlite');
    const events = chainOf(10);
    const sink = SqliteAuditSink.open(file);
    await sink.write(events.slice(0, 4));
    await sink.write(events.slice(4));
    expect(await sink.last('inst')).toEqual(events[9]);
    expect(await sink.last('other')).toBeUndefined();
    await sink.close();
    const reader = AuditReader.open(file);
    expect([...reader.chain('inst')]).toEqual(events);
    expect(reader.query({ user: 'bob', outcome: 'denied' }).map((r) => r.event.seq)).toEqual([3, 6, 9]);
    expect(reader.tail({}, 2).map((r) => r.event.seq)).toEqual([9, 10]);
    expect(reader.query({ since: events[7]!.time }).map((r) => r.event.seq)).toEqual([8, 9, 10]);
    expect(reader.query({ until: events[1]!.time }).map((r) => r.event.seq)).toEqual([1]);
    expect(reader.instances()).toEqual(['inst']);
    reader.close();
    expect(verifyFile(file)).toMatchObject({ ok: true, count: 10 });
  });

  it('skips an already stored prefix on retry, but refuses a different event at a stored seq', async () => {
    const file = path.join(dir, 'audit.sqlite');
    const events = chainOf(6);
    const sink = SqliteAuditSink.open(file);
    await sink.write(events.slice(0, 3));
    await sink.write(events); // a retried batch whose first write had reached the disk
    expect(verifyFile(file)).toMatchObject({ ok: true, count: 6 });
    const forked = chainOf(7).map((e) => ({ ...e, id: `${e.id}-fork`, hash: `${e.hash.slice(0, 60)}beef` }));
    await expect(sink.write(forked.slice(6))).resolves.toBeUndefined(); // seq 7 is new
    await expect(sink.write(forked.slice(0, 1))).rejects.toBeInstanceOf(AuditConflictError);
    await sink.close();
  });

  it('an edited row fails verify at that seq (O-13)', async () => {
    const file = path.join(dir, 'audit.sqlite');
    const events = chainOf(8);
    await store(file, events);
    const db = new Database(file);
    db.prepare("UPDATE audit_events SET outcome = 'ok' WHERE seq = 6").run();
    db.close();
    expect(verifyFile(file)).toMatchObject({ ok: false, seq: 6, id: events[5]!.id, reason: 'hash_mismatch' });
  });

  it('a deleted row fails verify at the gap (O-13)', async () => {
    const file = path.join(dir, 'audit.sqlite');
    await store(file, chainOf(8));
    const db = new Database(file);
    db.prepare('DELETE FROM audit_events WHERE seq = 4').run();
    db.close();
    expect(verifyFile(file)).toMatchObject({ ok: false, seq: 5, reason: 'gap' });
  });

  it('uses bound parameters: a filter value is data, never SQL (SEC-AUD-03)', async () => {
    const file = path.join(dir, 'audit.sqlite');
    await store(file, chainOf(3));
    const reader = AuditReader.open(file);
    expect(reader.query({ user: "alice' OR '1'='1" })).toEqual([]);
    reader.close();
  });
});
