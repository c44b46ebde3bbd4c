/**
 * The trail when things go wrong: a failing sink makes commits fail closed and its events are
 * written later without a gap (SEC-AUD-05, O-09); the queue is bounded; a sink left behind is
 * caught up at start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { JsonlAuditSink, parseEventLine } from '../../src/audit/jsonl.js';
import { SqliteAuditSink } from '../../src/audit/sqlite.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import type { AuditSink } from '../../src/audit/types.js';
import { FlakySink, auditConfig, callInput, captureLogger, storedEvents, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const sqliteFile = (): string => path.join(dir, 'audit.sqlite');

describe('audit trail failures', () => {
  it('fails closed when a sink fails, then writes the failed batch first: nothing lost, no gap (O-09)', async () => {
    const { logger, lines } = captureLogger();
    const sink = new FlakySink(SqliteAuditSink.open(sqliteFile()));
    const trail = await createAuditTrail(auditConfig(dir), { logger, sinks: [sink], retryDelayMs: 60_000 });
    await trail.commit(callInput(1));
    expect(trail.healthy()).toBe(true);

    sink.failing = true;
    const refused = trail.commit(callInput(2));
    trail.record(callInput(3));
    await expect(refused).rejects.toMatchObject({ name: 'AuditUnavailableError', reason: 'sink_failed' });
    expect(trail.healthy()).toBe(false);
    expect(trail.stats().backlog).toBe(2);
    expect(lines.join('')).toContain('audit sink write failed');
    await expect(trail.commit(callInput(4))).rejects.toBeInstanceOf(AuditUnavailableError);

    sink.failing = false;
    await trail.commit(callInput(5));
    expect(trail.healthy()).toBe(true);
    expect(trail.stats()).toMatchObject({ backlog: 0, failedBatches: 2 });
    expect(sink.batchSizes.at(-1)).toBe(4); // backlog of 2 + 1, retried with the new event
    await trail.close();
    const events = storedEvents(sqliteFile());
    expect(events.map((e) => e.requestId)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 5 });
  });

  it('retries a failed backlog on a timer when no new events arrive', async () => {
    const { logger } = captureLogger();
    const sink = new FlakySink(SqliteAuditSink.open(sqliteFile()));
    const trail = await createAuditTrail(auditConfig(dir), { logger, sinks: [sink], retryDelayMs: 20 });
    sink.failing = true;
    await expect(trail.commit(callInput(1))).rejects.toThrow(/audit sink write failed/);
    sink.failing = false;
    await expect.poll(() => trail.healthy(), { timeout: 2000, interval: 10 }).toBe(true);
    expect(trail.stats().backlog).toBe(0);
    await trail.close();
    expect(storedEvents(sqliteFile())).toHaveLength(1);
  });

  it('with two sinks, one failing: rejects, keeps the other current, and catches the failed one up', async () => {
    const { logger } = captureLogger();
    const jsonlFile = path.join(dir, 'audit.jsonl');
    const jsonl = new FlakySink(await JsonlAuditSink.open(jsonlFile));
    const sinks: AuditSink[] = [SqliteAuditSink.open(sqliteFile()), jsonl];
    const trail = await createAuditTrail(auditConfig(dir), { logger, sinks, retryDelayMs: 60_000 });
    jsonl.failing = true;
    await expect(trail.commit(callInput(1))).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(storedEvents(sqliteFile())).toHaveLength(1);
    jsonl.failing = false;
    await trail.commit(callInput(2));
    await trail.close();
    const fromJsonl = readFileSync(jsonlFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => parseEventLine(l)!);
    expect(fromJsonl).toEqual(storedEvents(sqliteFile()));
    expect(verifyChain(fromJsonl)).toMatchObject({ ok: true, count: 2 });
  });

  it('bounds the queue: record() drops with a count and a log, commit() rejects, no seq is used', async () => {
    const { logger, lines } = captureLogger();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const inner = SqliteAuditSink.open(sqliteFile());
    const slow: AuditSink = {
      ...inner,
      name: 'slow',
      last: (i) => inner.last(i),
      writable: () => inner.writable(),
      close: () => inner.close(),
      write: async (b) => (await gate, inner.write(b)),
    };
    const trail = await createAuditTrail(auditConfig(dir, { batchMaxEvents: 2 }), {
      logger,
      sinks: [slow],
      maxQueueEvents: 3,
    });
    const first = trail.commit(callInput(1));
    const second = trail.commit(callInput(2)); // batch of 2 is now in flight, held by the gate
    await new Promise((r) => setImmediate(r));
    const queued = [3, 4, 5].map((i) => trail.commit(callInput(i)));
    trail.record(callInput(6));
    await expect(trail.commit(callInput(7))).rejects.toMatchObject({ reason: 'queue_full' });
    expect(trail.stats().dropped).toBe(1);
    expect(lines.join('')).toContain('audit event dropped');
    open();
    await Promise.all([first, second, ...queued]);
    await trail.close();
    const events = storedEvents(sqliteFile());
    expect(events.map((e) => e.requestId)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 5 });
  });

  it('catches a sink that fell behind (killed between two sinks) up from SQLite at start', async () => {
    const { logger, lines } = captureLogger();
    const jsonlFile = path.join(dir, 'audit.jsonl');
    const jsonl = new FlakySink(await JsonlAuditSink.open(jsonlFile));
    const first = await createAuditTrail(auditConfig(dir), {
      logger,
      sinks: [SqliteAuditSink.open(sqliteFile()), jsonl],
      retryDelayMs: 60_000,
    });
    await Promise.all([1, 2, 3].map((i) => first.commit(callInput(i))));
    jsonl.failing = true;
    await expect(first.commit(callInput(4))).rejects.toBeInstanceOf(AuditUnavailableError);
    await first.close(); // closes with the JSONL backlog unwritten: that copy is behind

    const config = auditConfig(dir, { jsonl: { path: jsonlFile } });
    const second = await createAuditTrail(config, { logger });
    await second.commit(callInput(5));
    await second.close();
    expect(lines.join('')).toContain('audit sink is behind the chain head; catching it up');
    const fromJsonl = readFileSync(jsonlFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => parseEventLine(l)!);
    expect(fromJsonl).toEqual(storedEvents(sqliteFile()));
    expect(verifyChain(fromJsonl)).toMatchObject({ ok: true, count: 5 });
  });
});
