/** The JSON-lines sink: one line per event, read back for the chain, torn tails, stdout. */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HEAD, headAfter, verifyChain } from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import { JsonlAuditSink, parseEventLine } from '../../src/audit/jsonl.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { callInput, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function chainOf(n: number, instance: string, from = GENESIS_HEAD, extra = {}): AuditEvent[] {
  const events: AuditEvent[] = [];
  let head = from;
  for (let i = 1; i <= n; i++) {
    const event = chainEvent(describeEvent(callInput(i, extra), instance, Date.now()), head);
    events.push(event);
    head = headAfter(event);
  }
  return events;
}

const readLines = (file: string): AuditEvent[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseEventLine(l)!);

describe('JsonlAuditSink', () => {
  it('appends one line per event to a 0600 file, and finds the last event of an instance', async () => {
    const file = path.join(dir, 'logs', 'audit.jsonl');
    const sink = await JsonlAuditSink.open(file);
    const a = chainOf(3, 'a');
    const b = chainOf(2, 'b');
    await sink.write([...a, ...b]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await sink.last('a')).toEqual(a[2]);
    expect(await sink.last('b')).toEqual(b[1]);
    expect(await sink.last('c')).toBeUndefined();
    await sink.close();
    const stored = readLines(file);
    expect(stored).toHaveLength(5);
    expect(verifyChain(stored.filter((e) => e.instance === 'a'))).toMatchObject({ ok: true, count: 3 });
  });

  it('reads the last event back across many 64 KiB chunks with multi-byte text', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const sink = await JsonlAuditSink.open(file);
    const events = chainOf(300, 'a', GENESIS_HEAD, { arguments: { note: 'Grüße 東京 😀'.repeat(80) } });
    await sink.write(events);
    await sink.write(chainOf(1, 'b'));
    expect(statSync(file).size).toBeGreaterThan(3 * 64 * 1024);
    expect(await sink.last('a')).toEqual(events[299]);
    await sink.close();
  });

  it('cuts a torn last line (a crash mid-append) before writing again', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const first = await JsonlAuditSink.open(file);
    const events = chainOf(4, 'a');
    await first.write(events.slice(0, 2));
    await first.close();
    appendFileSync(file, '{"seq":3,"id":"torn');
    const second = await JsonlAuditSink.open(file);
    expect(await second.last('a')).toEqual(events[1]);
    await second.write(events.slice(2));
    await second.close();
    expect(verifyChain(readLines(file))).toMatchObject({ ok: true, count: 4 });
  });

  it("writes to stdout for '-', resolving after the write callback; the chain cannot be read back", async () => {
    const chunks: string[] = [];
    const stream = {
      write(chunk: string, callback: (err?: Error | null) => void): boolean {
        chunks.push(chunk);
        setImmediate(callback);
        return true;
      },
    };
    const sink = await JsonlAuditSink.open('-', stream);
    await sink.write(chainOf(2, 'a'));
    expect(chunks.join('').split('\n')).toHaveLength(3);
    expect(await sink.last('a')).toBeUndefined();
    expect(await sink.writable()).toBe(true);
    await sink.close();
  });

  it('writes spoofing characters as JSON escapes, so each event stays one line (O-05, O-06)', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const sink = await JsonlAuditSink.open(file);
    const [event] = chainOf(1, 'a', GENESIS_HEAD, { tool: 'x\n{"level":"info","sub":"admin"}\u2028\u202e\u001b[2J' });
    await sink.write([event!]);
    await sink.close();
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(2);
    // eslint-disable-next-line no-control-regex -- asserting that no control character is left
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u2028\u202e]/);
    expect(text).toContain('\\\\u000a{\\"level\\":\\"info\\",\\"sub\\":\\"admin\\"}\\\\u2028\\\\u202e\\\\u001b[2J');
  });
});
