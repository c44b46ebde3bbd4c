/**
 * The SQLite sink on a writer thread: same file format, same ordering and conflict rules; it
 * seals the trail's events itself (description, canonical JSON, hashes off the event loop).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HEAD, headAfter, verifyChain } from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import { parseEventLine } from '../../src/audit/jsonl.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { WorkerSqliteSink } from '../../src/audit/workerSink.js';
import { auditConfig, callInput, captureLogger, storedEvents, tempDir } from './helpers.js';

function events(n: number): AuditEvent[] {
  let head = GENESIS_HEAD;
  const out: AuditEvent[] = [];
  for (let i = 1; i <= n; i++) {
    const e = chainEvent(describeEvent(callInput(i), 'test-1', Date.now()), head);
    head = headAfter(e);
    out.push(e);
  }
  return out;
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('WorkerSqliteSink', () => {
  it('writes batches in order on its thread and reads the head back', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, 'audit.sqlite');
    const sink = await WorkerSqliteSink.open(file);
    const all = events(50);
    await Promise.all([sink.write(all.slice(0, 20)), sink.write(all.slice(20))]);
    expect((await sink.last('test-1'))?.seq).toBe(50);
    expect(await sink.writable()).toBe(true);
    await sink.close();
    expect(storedEvents(file).map((e) => e.seq)).toEqual(all.map((e) => e.seq));
  });

  it('rejects a different event at a stored seq, and refuses writes after close', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const sink = await WorkerSqliteSink.open(path.join(dir, 'audit.sqlite'));
    const [first] = events(1);
    await sink.write([first!]);
    await sink.write([first!]); // a retried, already stored batch is skipped
    await expect(sink.write([{ ...first!, hash: 'f'.repeat(64) }])).rejects.toThrow(/already stored/);
    await sink.close();
    await expect(sink.write([first!])).rejects.toThrow(/closed/);
  });
});

describe('sealing on the writer thread', () => {
  it('seals exactly what the trail would, and hands the events to a JSONL sink behind it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const jsonl = path.join(dir, 'audit.jsonl');
    const config = auditConfig(dir, { jsonl: { path: jsonl } });
    const trail = await createAuditTrail(config, { logger: captureLogger().logger, now: () => Date.UTC(2026, 0, 1) });
    await Promise.all([1, 2, 3].map((i) => trail.commit(callInput(i))));
    trail.record(callInput(4));
    await trail.commit(callInput(5));
    await trail.close();
    const stored = storedEvents(path.join(dir, 'audit.sqlite'));
    expect(stored.map((e) => e.requestId)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(verifyChain(stored)).toMatchObject({ ok: true, count: 5 });
    // Sealed on the thread, byte for byte what sealing here gives.
    let head = GENESIS_HEAD;
    for (const e of stored) {
      const here = chainEvent(
        describeEvent(callInput(Number(e.requestId?.slice(4))), 'test-1', Date.parse(e.time), e.id),
        head,
      );
      expect(here).toEqual(e);
      head = headAfter(here);
    }
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map(parseEventLine);
    expect(lines).toEqual(stored);
  });

  it('keeps the events of a failed write as a backlog and stores them first once it can: no gap', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, 'audit.sqlite');
    const trail = await createAuditTrail(auditConfig(dir), { logger: captureLogger().logger, retryDelayMs: 60_000 });
    await trail.commit(callInput(1));
    // Another writer takes seq 2: the thread's insert fails (a conflict) until the row is gone.
    const other = new Database(file);
    const squat = other.prepare(
      "INSERT INTO audit_events (seq, id, time, instance, event, prev_hash, hash) VALUES (2, 'x', 't', 'test-1', 'tool.called', 'p', 'h')",
    );
    squat.run();
    await expect(trail.commit(callInput(2))).rejects.toMatchObject({ reason: 'sink_failed' });
    expect(trail.healthy()).toBe(false);
    expect(trail.stats().backlog).toBe(1);
    other.prepare("DELETE FROM audit_events WHERE id = 'x'").run();
    other.close();
    await trail.commit(callInput(3));
    expect(trail.healthy()).toBe(true);
    expect(trail.stats().backlog).toBe(0);
    await trail.commit(callInput(4)); // back on the thread
    await trail.close();
    const stored = storedEvents(file);
    expect(stored.map((e) => e.requestId)).toEqual(['req-1', 'req-2', 'req-3', 'req-4']);
    expect(verifyChain(stored)).toMatchObject({ ok: true, count: 4 });
  });

  it('seals an input the thread cannot receive here, and stores it all the same', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const trail = await createAuditTrail(auditConfig(dir), { logger: captureLogger().logger });
    await trail.commit(callInput(1, { arguments: { keep: 1, fn: () => 1 } }));
    await trail.commit(callInput(2));
    await trail.close();
    const stored = storedEvents(path.join(dir, 'audit.sqlite'));
    expect(stored.map((e) => e.arguments)).toEqual(['{"keep":1}', '{"n":2,"userId":"alice"}']);
    expect(verifyChain(stored)).toMatchObject({ ok: true, count: 2 });
  });
});
