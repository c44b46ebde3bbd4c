/**
 * The trail: group commit, event mapping, redaction and escaping end to end, restart; failures
 * are in failure.test.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical.js';
import { parseEventLine } from '../../src/audit/jsonl.js';
import { compileRedactor } from '../../src/audit/redact.js';
import { SqliteAuditSink } from '../../src/audit/sqlite.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import { FlakySink, auditConfig, callInput, captureLogger, storedEvents, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const sqliteFile = (): string => path.join(dir, 'audit.sqlite');

describe('createAuditTrail', () => {
  it('group-commits 1000 concurrent commits in a handful of batches, chained in order', async () => {
    const { logger } = captureLogger();
    const sink = new FlakySink(SqliteAuditSink.open(sqliteFile()));
    const depths: number[] = [];
    const writes: number[] = [];
    const metrics = {
      auditWrite: (_s: number, n: number) => writes.push(n),
      auditQueueDepth: (n: number) => depths.push(n),
    };
    const trail = await createAuditTrail(auditConfig(dir), { logger, sinks: [sink], metrics });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => trail.commit(callInput(i))));
    expect(sink.writes).toBeLessThanOrEqual(4);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(depths.length).toBeGreaterThan(0);
    await trail.close();
    const events = storedEvents(sqliteFile());
    expect(events.map((e) => e.requestId)).toEqual(Array.from({ length: 1000 }, (_, i) => `req-${i}`));
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 1000 });
  });

  it('maps an input to an event: UTC time, hashed session id, escaped fields, digest of the arguments', async () => {
    const { logger } = captureLogger();
    const now = Date.UTC(2026, 10, 24, 8, 30, 0, 5);
    const trail = await createAuditTrail(auditConfig(dir), { logger, now: () => now });
    const args = { b: 2, a: 'x'.repeat(10_000) };
    await trail.commit(callInput(1, { arguments: args, sessionId: 'raw-session-id', latencyMs: 1.23456 }));
    await trail.commit({ event: 'auth.failed', reason: 'expired' });
    await trail.close();
    const [called, failed] = storedEvents(sqliteFile());
    expect(called).toMatchObject({
      seq: 1,
      time: '2026-11-24T08:30:00.005Z',
      instance: 'test-1',
      sessionHash: sha256Hex('raw-session-id').slice(0, 32),
      roles: ['user'],
      argumentsDigest: sha256Hex(canonicalJson(args)),
      latencyMs: 1.235,
    });
    expect(called!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(called!.arguments).toMatch(/^\{"a":"x+…\[truncated \d+\]$/);
    expect(called!.arguments!.length).toBeLessThan(8 * 1024 + 32);
    expect(failed).toMatchObject({ seq: 2, event: 'auth.failed', user: null, arguments: null, reason: 'expired' });
  });

  it('keeps a redacted secret out of the SQLite file, the JSONL file and the logs (SEC-AUD-02, O-07)', async () => {
    const { logger, lines } = captureLogger();
    const jsonl = path.join(dir, 'audit.jsonl');
    const config = auditConfig(dir, { jsonl: { path: jsonl } });
    const trail = await createAuditTrail(config, { logger });
    const redact = compileRedactor(
      { type: 'object', properties: { card: { type: 'string', 'x-sensitive': true } } },
      config.redactKeys,
    );
    const secret = 'S3cr3t-VALUE-8c1f';
    await trail.commit(
      callInput(1, { arguments: redact({ card: secret, nested: { apiKey: secret }, password: secret }) }),
    );
    await trail.close();
    for (const name of readdirSync(dir)) {
      expect(readFileSync(path.join(dir, name)).includes(secret), name).toBe(false);
    }
    expect(lines.join('')).not.toContain(secret);
    expect(storedEvents(sqliteFile())[0]!.arguments).toBe(
      '{"card":"[redacted]","nested":{"apiKey":"[redacted]"},"password":"[redacted]"}',
    );
  });

  it('stores a forged log line and terminal escapes as one escaped record (O-05, O-06)', async () => {
    const { logger } = captureLogger();
    const jsonl = path.join(dir, 'audit.jsonl');
    const trail = await createAuditTrail(auditConfig(dir, { jsonl: { path: jsonl } }), { logger });
    const forged = 'x\r\n{"level":"info","decision":"allow","sub":"admin"}';
    await trail.commit(callInput(1, { tool: forged, user: 'eve\u001b[2J\u202e\u2028', arguments: { q: forged } }));
    await trail.close();
    const [event] = storedEvents(sqliteFile());
    expect(event!.tool).toBe('x\\u000d\\u000a{"level":"info","decision":"allow","sub":"admin"}');
    expect(event!.user).toBe('eve\\u001b[2J\\u202e\\u2028');
    expect(event!.arguments).toBe(
      '{"q":"x\\r\\n{\\"level\\":\\"info\\",\\"decision\\":\\"allow\\",\\"sub\\":\\"admin\\"}"}',
    );
    const lines = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(parseEventLine(lines[0]!)).toEqual(event);
  });

  it('continues the chain after a restart, in SQLite and in a JSONL file', async () => {
    const { logger } = captureLogger();
    const jsonl = path.join(dir, 'audit.jsonl');
    const config = auditConfig(dir, { jsonl: { path: jsonl } });
    for (let run = 0; run < 2; run++) {
      const trail = await createAuditTrail(config, { logger });
      await Promise.all(Array.from({ length: 25 }, (_, i) => trail.commit(callInput(run * 100 + i))));
      for (let i = 0; i < 5; i++) trail.record(callInput(run * 100 + 50 + i));
      await trail.close(); // close flushes what record() queued
    }
    const events = storedEvents(sqliteFile());
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 60 });
    const fromJsonl = readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => parseEventLine(l)!);
    expect(fromJsonl).toEqual(events);
  });

  it('refuses events after close', async () => {
    const { logger } = captureLogger();
    const trail = await createAuditTrail(auditConfig(dir), { logger });
    await trail.close();
    await expect(trail.commit(callInput(1))).rejects.toMatchObject({ reason: 'closed' });
    trail.record(callInput(2));
    expect(trail.stats().dropped).toBe(1);
  });
});
