/** The SQLite sink on a writer thread: same file format, same ordering and conflict rules. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HEAD, headAfter } from '../../src/audit/chain.js';
import { chainEvent, describeEvent } from '../../src/audit/event.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { WorkerSqliteSink } from '../../src/audit/workerSink.js';
import { callInput, storedEvents, tempDir } from './helpers.js';

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
