/** Shared fixtures for the audit tests: temp dirs, configs, inputs, a capturing logger, a failing sink. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { AuditReader } from '../../src/audit/reader.js';
import type { AuditConfig } from '../../src/config/types.js';
import type { AuditEvent, AuditInput, AuditSink } from '../../src/audit/types.js';

/** A fresh temp directory and its cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-audit-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every stored event of `instance` in the SQLite file, in seq order. */
export function storedEvents(file: string, instance = 'test-1'): AuditEvent[] {
  const reader = AuditReader.open(file);
  try {
    return [...reader.chain(instance)];
  } finally {
    reader.close();
  }
}

/** An audit config writing SQLite (and optionally JSONL) under `dir`. */
export function auditConfig(dir: string, extra: Partial<AuditConfig> = {}): AuditConfig {
  return {
    sqlite: { path: path.join(dir, 'audit.sqlite') },
    failMode: 'closed',
    redactKeys: ['password', 'secret', 'token', 'apikey'],
    batchMaxEvents: 512,
    batchMaxDelayMs: 2,
    instance: 'test-1',
    ...extra,
  };
}

/** A `tool.called` input for `user`. */
export function callInput(n: number, extra: Partial<AuditInput> = {}): AuditInput {
  return {
    event: 'tool.called',
    requestId: `req-${n}`,
    sessionId: `session-${n % 7}`,
    issuer: 'urn:test',
    user: 'alice',
    tenant: 'acme',
    roles: ['user'],
    ip: '127.0.0.1',
    transport: 'modern',
    method: 'tools/call',
    tool: 'get_user_profile',
    arguments: { userId: 'alice', n },
    outcome: 'ok',
    latencyMs: 1.25,
    ...extra,
  };
}

/** A pino logger whose lines are kept in `lines` (to check what is logged, and that secrets are not). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** Wraps a sink: counts writes and fails them while `failing` is true. */
export class FlakySink implements AuditSink {
  failing = false;
  writes = 0;
  readonly batchSizes: number[] = [];

  constructor(private readonly inner: AuditSink) {}

  get name(): string {
    return `flaky(${this.inner.name})`;
  }

  last(instance: string): Promise<AuditEvent | undefined> {
    return this.inner.last(instance);
  }

  async write(batch: readonly AuditEvent[]): Promise<void> {
    this.writes += 1;
    this.batchSizes.push(batch.length);
    if (this.failing) throw new Error('disk on fire');
    await this.inner.write(batch);
  }

  async writable(): Promise<boolean> {
    return !this.failing && (await this.inner.writable());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
