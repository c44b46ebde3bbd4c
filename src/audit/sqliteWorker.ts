/**
 * Worker-thread side of `WorkerSqliteSink`: owns the writing SQLite connection, so each
 * batch's insert and its COMMIT fsync run off the gateway's event loop. Messages are handled
 * one at a time, in order, so batches reach the file in chain order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChainHead } from './chain.js';
import { sealBatch } from './event.js';
import { SqliteAuditSink } from './sqlite.js';
import type { AuditEvent, PendingEvent } from './types.js';

export type WorkerRequest =
  | { id: number; op: 'write'; batch: readonly AuditEvent[] }
  | {
      id: number;
      op: 'sealWrite';
      pending: readonly PendingEvent[];
      instance: string;
      head: ChainHead;
      wantEvents: boolean;
    }
  | { id: number; op: 'writable' }
  | { id: number; op: 'close' };

/** What `sealWrite` answers: the new head, the events if asked for or not stored, the write error. */
export interface SealReply {
  head: ChainHead;
  events?: readonly AuditEvent[];
  error?: string;
}

export type WorkerReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  const { file, synchronous } = workerData as { file: string; synchronous: 'full' | 'normal' };
  let sink: SqliteAuditSink | undefined;
  try {
    sink = SqliteAuditSink.open(file, synchronous);
    port.postMessage({ ready: true });
  } catch (err) {
    port.postMessage({ ready: false, error: (err as Error).message });
  }
  let queue = Promise.resolve();
  port.on('message', (m: WorkerRequest) => {
    queue = queue.then(async () => {
      let reply: WorkerReply;
      try {
        if (!sink) throw new Error('audit database is not open');
        if (m.op === 'write') await sink.write(m.batch);
        let value: unknown = m.op === 'writable' ? await sink.writable() : undefined;
        if (m.op === 'sealWrite') value = await sealWrite(sink, m.pending, m.instance, m.head, m.wantEvents);
        if (m.op === 'close') await sink.close();
        reply = { id: m.id, ok: true, value };
      } catch (err) {
        reply = { id: m.id, ok: false, error: (err as Error).message };
      }
      port.postMessage(reply);
      if (m.op === 'close') port.close();
    });
  });
}

/** Seals a batch after `head` and stores it; a failed write still answers the sealed events. */
async function sealWrite(
  sink: SqliteAuditSink,
  pending: readonly PendingEvent[],
  instance: string,
  head: ChainHead,
  wantEvents: boolean,
): Promise<SealReply> {
  const events = sealBatch(pending, instance, head);
  const last = events[events.length - 1];
  const after = last ? { lastSeq: last.seq, lastHash: last.hash } : head;
  try {
    await sink.write(events);
  } catch (err) {
    return { head: after, events, error: (err as Error).message };
  }
  return wantEvents ? { head: after, events } : { head: after };
}
