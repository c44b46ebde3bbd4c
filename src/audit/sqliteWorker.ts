/**
 * Worker-thread side of `WorkerSqliteSink`: owns the writing SQLite connection, so each
 * batch's insert and its COMMIT fsync run off the gateway's event loop. Messages are handled
 * one at a time, in order, so batches reach the file in chain order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAuditSink } from './sqlite.js';
import type { AuditEvent } from './types.js';

export type WorkerRequest =
  | { id: number; op: 'write'; batch: readonly AuditEvent[] }
  | { id: number; op: 'writable' }
  | { id: number; op: 'close' };

export type WorkerReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  const { file } = workerData as { file: string };
  let sink: SqliteAuditSink | undefined;
  try {
    sink = SqliteAuditSink.open(file);
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
        const value = m.op === 'writable' ? await sink.writable() : undefined;
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
