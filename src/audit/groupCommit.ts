/**
 * The audit trail's engine: one ordered queue in front of the sinks, with group commit. Events are
 * chained in the order they are recorded (SEC-AUD-04); a batch is written once per sink when it
 * holds `batchMaxEvents` events or is `batchMaxDelayMs` old; `commit()` resolves when its batch
 * is durable in every sink, so an acknowledged tool call survives `kill -9` (issue 3).
 *
 * Failure design (SEC-AUD-05, O-09): a failed write rejects the commits of that batch (callers
 * fail closed) and marks the trail unhealthy, but its events are not dropped: they already hold
 * their seq and hash, so each failing sink keeps them as a backlog that is written, in order,
 * ahead of its next batch (and by a backoff timer when there is no traffic). The chain therefore
 * never has a gap, an event about something that did happen is never lost while the process
 * lives, and the trail is healthy again after the first write in which every sink succeeds.
 * The queue plus backlog is bounded: past it, `record()` drops (counted, logged) and `commit()`
 * rejects, both before a seq is taken.
 */
import { randomUUID } from 'node:crypto';
import type { AuditConfig } from '../config/types.js';
import type { ChainHead } from './chain.js';
import { headAfter } from './chain.js';
import { AuditUnavailableError } from './errors.js';
import type { AuditUnavailableReason } from './errors.js';
import { sealBatch } from './event.js';
import type { AuditTrailHandle, AuditTrailOptions, AuditTrailStats } from './trail.js';
import type { AuditEvent, AuditInput, AuditSink, PendingEvent, SealingSink } from './types.js';

interface Entry {
  readonly pending: PendingEvent;
  readonly settle?: (err?: Error) => void;
}

function isSealing(sink: AuditSink | undefined): sink is SealingSink {
  return typeof (sink as Partial<SealingSink> | undefined)?.sealAndWrite === 'function';
}

const MAX_RETRY_DELAY_MS = 30_000;

/** The trail behind `createAuditTrail`. */
export class GroupCommitTrail implements AuditTrailHandle {
  private readonly queue: Entry[] = [];
  private readonly backlogs: (readonly AuditEvent[])[];
  private readonly now: () => number;
  private readonly maxQueue: number;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private ok: boolean;
  private closed = false;
  private dropped = 0;
  private refusals = 0;
  private lastRefusalLog = -Infinity;
  private batches = 0;
  private failedBatches = 0;

  constructor(
    private readonly config: AuditConfig,
    private readonly opts: AuditTrailOptions,
    private readonly sinks: readonly AuditSink[],
    private head: ChainHead,
    healthy: boolean,
    /** Per sink, events it must store before new ones (a sink caught up at start). */
    owed: readonly (readonly AuditEvent[])[] = [],
  ) {
    this.backlogs = sinks.map((_, i) => [...(owed[i] ?? [])]);
    this.now = opts.now ?? Date.now;
    this.maxQueue = opts.maxQueueEvents ?? 100_000;
    this.retryDelay = opts.retryDelayMs ?? 1000;
    this.ok = healthy;
    if (this.backlogSize() > 0) void this.start();
  }

  record(input: AuditInput): void {
    const refused = this.enqueue(input);
    if (refused === undefined) return;
    this.dropped += 1;
    this.logRefusal(refused, input, 'audit event dropped');
  }

  commit(input: AuditInput): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const refused = this.enqueue(input, (err) => (err ? reject(err) : resolve()));
      if (refused === undefined) return;
      this.logRefusal(refused, input, 'audit event refused');
      reject(new AuditUnavailableError(refused, `audit event not accepted: ${refused}`));
    });
  }

  /** Logs the first refusal, then at most one a second with the running count (an alert, SEC-AUD-05). */
  private logRefusal(reason: AuditUnavailableReason, input: AuditInput, message: string): void {
    this.refusals += 1;
    if (this.now() - this.lastRefusalLog < 1000) return;
    this.lastRefusalLog = this.now();
    this.opts.logger.error({ reason, event: input.event, refusals: this.refusals, dropped: this.dropped }, message);
  }

  healthy(): boolean {
    return this.ok;
  }

  stats(): AuditTrailStats {
    return {
      queued: this.queue.length,
      backlog: this.backlogSize(),
      dropped: this.dropped,
      batches: this.batches,
      failedBatches: this.failedBatches,
      head: this.head,
    };
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.queue.length > 0 || this.backlogSize() > 0) await this.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    clearTimeout(this.retryTimer);
    await this.flush();
    const owed = this.backlogSize();
    if (owed > 0) this.opts.logger.error({ events: owed }, 'audit trail closed with events not written to every sink');
    await Promise.allSettled(this.sinks.map((s) => s.close()));
  }

  /**
   * Queues one event; returns why it was refused, if it was. Only its id and time are fixed here:
   * it is described and sealed when its batch is written (on the SQLite writer thread when that
   * is the first sink), in queue order, so chain order is commit order.
   */
  private enqueue(input: AuditInput, settle?: (err?: Error) => void): AuditUnavailableReason | undefined {
    if (this.closed) return 'closed';
    if (this.queue.length + this.backlogSize() >= this.maxQueue) return 'queue_full';
    const pending: PendingEvent = { input, nowMs: this.now(), id: randomUUID() };
    this.queue.push(settle ? { pending, settle } : { pending });
    this.schedule();
    return undefined;
  }

  /** Seals on this thread and advances the head. */
  private sealHere(pending: readonly PendingEvent[]): AuditEvent[] {
    const events = sealBatch(pending, this.config.instance, this.head);
    const last = events[events.length - 1];
    if (last) this.head = headAfter(last);
    return events;
  }

  private schedule(): void {
    if (this.running) return; // the running write picks the queue up when it is done
    if (this.queue.length >= this.config.batchMaxEvents) {
      this.clearTimer();
      this.timer = undefined;
      void this.start();
    } else {
      // With no delay configured, the batch closes at the end of this event-loop turn: every call
      // that arrived in the same turn shares one write, and nobody waits for a timer.
      this.timer ??=
        this.config.batchMaxDelayMs === 0
          ? setImmediate(() => void this.start())
          : setTimeout(() => void this.start(), this.config.batchMaxDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    if ('hasRef' in this.timer && 'refresh' in this.timer) clearTimeout(this.timer);
    else clearImmediate(this.timer);
  }

  /** Runs batches until the queue is empty; at most one run at a time, so order is kept. */
  private start(): Promise<void> {
    this.clearTimer();
    this.timer = undefined;
    this.running ??= (async () => {
      try {
        // `await` always yields, so `running` is assigned before this settles.
        do await this.writeBatch();
        while (this.queue.length > 0);
      } catch (err) {
        this.opts.logger.error({ err }, 'audit write loop failed'); // a bug; sink errors are handled below
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async writeBatch(): Promise<void> {
    const entries = this.queue.splice(0, Math.max(this.config.batchMaxEvents, 1));
    const pending = entries.map((e) => e.pending);
    this.observe((m) => m.auditQueueDepth(this.queue.length + this.backlogSize()));
    const started = performance.now();
    this.batches += 1;
    // Sinks are written one after the other in config order, SQLite first, so after a crash a
    // JSONL copy is never ahead of SQLite and can be caught up from it (trail.ts). SQLite writes on
    // a worker thread, so this order must be awaited, not assumed.
    const failures: { sink: string; err: unknown }[] = [];
    let events: readonly AuditEvent[] | undefined;
    let first = 0;
    const sealer = this.sinks[0];
    if (pending.length > 0 && isSealing(sealer) && this.backlogs[0]?.length === 0) {
      // The usual case: the SQLite writer thread seals and stores the batch.
      first = 1;
      try {
        const r = await sealer.sealAndWrite(pending, this.config.instance, this.head, this.sinks.length > 1);
        this.head = r.head;
        events = r.events;
        if (r.error) {
          this.backlogs[0] = r.events ?? [];
          failures.push({ sink: sealer.name, err: r.error });
        }
      } catch (err) {
        // The writer is gone: seal here; the backlog is retried (a stored prefix is skipped).
        events = this.sealHere(pending);
        this.backlogs[0] = events;
        failures.push({ sink: sealer.name, err });
      }
    }
    if (first === 0) events = this.sealHere(pending);
    for (let i = first; i < this.sinks.length; i++) {
      const sink = this.sinks[i]!;
      const owed = this.backlogs[i] ?? [];
      const batch = owed.length > 0 ? owed.concat(events ?? []) : (events ?? []);
      if (batch.length === 0) continue;
      try {
        await sink.write(batch);
        this.backlogs[i] = [];
      } catch (err) {
        this.backlogs[i] = batch; // retried ahead of the next batch: no gap, nothing lost
        failures.push({ sink: sink.name, err });
      }
    }
    this.observe((m) => m.auditWrite((performance.now() - started) / 1000, pending.length));
    this.observe((m) => m.auditQueueDepth(this.queue.length + this.backlogSize()));

    if (failures.length === 0) {
      if (!this.ok) this.opts.logger.info('audit sinks recovered; backlog written');
      this.ok = true;
      this.retryDelay = this.opts.retryDelayMs ?? 1000;
      for (const e of entries) e.settle?.();
      return;
    }
    this.ok = false;
    this.failedBatches += 1;
    for (const { sink, err } of failures) {
      this.opts.logger.error({ sink, err, backlog: this.backlogSize() }, 'audit sink write failed');
    }
    const error = new AuditUnavailableError('sink_failed', `audit sink write failed: ${failures[0]?.sink}`, {
      cause: failures[0]?.err,
    });
    for (const e of entries) e.settle?.(error);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.backlogSize() > 0) void this.start();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_DELAY_MS);
  }

  /** Reports to the metrics; a failing metrics backend must not stall the audit path. */
  private observe(report: (metrics: NonNullable<AuditTrailOptions['metrics']>) => void): void {
    try {
      if (this.opts.metrics) report(this.opts.metrics);
    } catch (err) {
      this.opts.logger.warn({ err }, 'audit metrics failed');
    }
  }

  private backlogSize(): number {
    return this.backlogs.reduce((max, b) => Math.max(max, b.length), 0);
  }
}
