/**
 * The default SQLite audit sink: writes happen on a worker thread (sqliteWorker.ts), so the
 * synchronous insert and the COMMIT's fsync never stall the event loop that serves requests,
 * and batches grow naturally while a write is in flight (group commit). Reads needed at start
 * (the chain head, catching up a lagging sink) use a connection on this thread.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChainHead } from './chain.js';
import { sealBatch } from './event.js';
import { SqliteAuditSink } from './sqlite.js';
import type { SealReply, WorkerReply, WorkerRequest } from './sqliteWorker.js';
import type { AuditEvent, PendingEvent, SealedBatch, SealingSink } from './types.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class WorkerSqliteSink implements SealingSink {
  readonly name = 'sqlite';
  readonly #reader: SqliteAuditSink;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #closed = false;
  /** Why the writer thread is gone, once it is: later calls fail at once instead of never settling. */
  #gone: Error | undefined;

  private constructor(reader: SqliteAuditSink, worker: Worker) {
    this.#reader = reader;
    this.#worker = worker;
    worker.on('message', (m: WorkerReply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    worker.on('error', (err) => this.#failAll((this.#gone ??= err)));
    worker.on('exit', () => this.#failAll((this.#gone ??= new Error('audit writer thread exited'))));
  }

  /** Opens the database (creating it and its schema here first), then starts the writer thread. */
  static async open(file: string, synchronous: 'full' | 'normal' = 'full'): Promise<WorkerSqliteSink> {
    const reader = SqliteAuditSink.open(file, synchronous);
    const worker = startWorker(file, synchronous);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('message', (m: { ready: boolean; error?: string }) =>
          m.ready ? resolve() : reject(new Error(m.error ?? 'audit writer failed to start')),
        );
        worker.once('error', reject);
      });
    } catch (err) {
      await worker.terminate();
      await reader.close();
      throw err;
    }
    return new WorkerSqliteSink(reader, worker);
  }

  last(instance: string): Promise<AuditEvent | undefined> {
    return this.#reader.last(instance);
  }

  /** Up to `limit` events after `seq` (replaying to a lagging sink at start). */
  eventsAfter(instance: string, seq: number, limit: number): AuditEvent[] {
    return this.#reader.eventsAfter(instance, seq, limit);
  }

  async write(batch: readonly AuditEvent[]): Promise<void> {
    await this.#call({ op: 'write', batch });
  }

  /**
   * Seals and writes on the writer thread. An input the thread cannot receive (not structured-
   * cloneable) is sealed here instead and written as usual.
   */
  async sealAndWrite(
    pending: readonly PendingEvent[],
    instance: string,
    head: ChainHead,
    wantEvents: boolean,
  ): Promise<SealedBatch> {
    let reply: SealReply;
    try {
      reply = (await this.#call({ op: 'sealWrite', pending, instance, head, wantEvents })) as SealReply;
    } catch (err) {
      if ((err as Error).name !== 'DataCloneError') throw err;
      const events = sealBatch(pending, instance, head);
      const last = events[events.length - 1];
      const after = last ? { lastSeq: last.seq, lastHash: last.hash } : head;
      try {
        await this.write(events);
        return { head: after, events };
      } catch (error) {
        return { head: after, events, error: error as Error };
      }
    }
    return reply.error === undefined
      ? { head: reply.head, ...(reply.events && { events: reply.events }) }
      : { head: reply.head, events: reply.events ?? [], error: new Error(reply.error) };
  }

  async writable(): Promise<boolean> {
    try {
      return (await this.#call({ op: 'writable' })) === true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call({ op: 'close' });
    } finally {
      this.#closed = true;
      await this.#worker.terminate();
      await this.#reader.close();
    }
  }

  #call(request: Request): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('audit sink is closed'));
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ ...request, id });
      } catch (err) {
        this.#pending.delete(id); // nothing was sent (e.g. a DataCloneError)
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/**
 * Starts the writer thread from the worker module next to this one: the compiled `.js` in
 * production; from source (the test suite runs TypeScript directly) a tiny bootstrap first
 * registers the TypeScript loader the tests already use, then imports the `.ts` module.
 */
function startWorker(file: string, synchronous: 'full' | 'normal'): Worker {
  const workerData = { file, synchronous };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./sqliteWorker.js', import.meta.url), { workerData });
  }
  // The ESM entry of tsx's API (its `import` condition), found from the package root.
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./sqliteWorker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
