/**
 * Opening the audit trail: the sinks of the config (SQLite, PostgreSQL, JSON lines) or given
 * ones, and the chain head to resume from after a restart (SEC-AUD-04). The queue, group commit
 * and failure handling live in groupCommit.ts.
 */
import type { AuditConfig } from '../config/types.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { ChainHead } from './chain.js';
import { GENESIS_HEAD, headAfter } from './chain.js';
import { GroupCommitTrail } from './groupCommit.js';
import { JsonlAuditSink } from './jsonl.js';
import type { LineStream } from './jsonl.js';
import { PostgresAuditSink } from './postgres.js';
import { WorkerSqliteSink } from './workerSink.js';
import type { AuditEvent, AuditSink, AuditTrail } from './types.js';

/** Dependencies and limits of a trail. */
export interface AuditTrailOptions {
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'auditWrite' | 'auditQueueDepth'>;
  /** Clock in ms (tests). */
  readonly now?: () => number;
  /** Replaces the sinks of the config (tests). */
  readonly sinks?: readonly AuditSink[];
  /** Queued plus backlogged events before `record()` drops and `commit()` rejects. Default 100 000. */
  readonly maxQueueEvents?: number;
  /** First retry of a failed sink when no new events arrive; doubles up to 30 s. Default 1000. */
  readonly retryDelayMs?: number;
  /** Where a `jsonl.path: '-'` sink writes. Default `process.stdout`. */
  readonly stdout?: LineStream;
}

/** Counters for tests, /readyz detail and alerts. */
export interface AuditTrailStats {
  readonly queued: number;
  /** The largest number of events any sink still owes. */
  readonly backlog: number;
  /** Events `record()` dropped because the queue was full or the trail closed. */
  readonly dropped: number;
  /** Batch writes attempted (one per batch, each writing to every sink). */
  readonly batches: number;
  /** Batches in which at least one sink failed. */
  readonly failedBatches: number;
  /** The chain head: the last event sealed (events still queued are sealed when their batch is written). */
  readonly head: ChainHead;
}

/** The trail, plus what tests and the gateway's health checks read. */
export interface AuditTrailHandle extends AuditTrail {
  stats(): AuditTrailStats;
  /** Resolves when everything queued so far has had a write attempt. */
  flush(): Promise<void>;
}

/**
 * Opens the sinks of `config` (or `opts.sinks`), resumes each instance's chain from the
 * furthest event any sink holds, and returns the trail. Rejects if a sink cannot be opened; a
 * sink that opens but is not writable only makes the trail start unhealthy.
 */
export async function createAuditTrail(config: AuditConfig, opts: AuditTrailOptions): Promise<AuditTrailHandle> {
  const sinks = opts.sinks ?? (await openSinks(config, opts.logger, opts.stdout));
  const lasts = await Promise.all(sinks.map((s) => s.last(config.instance)));
  let head = GENESIS_HEAD;
  for (const last of lasts) if (last && last.seq > head.lastSeq) head = headAfter(last);
  // A sink behind the head (killed between two sinks' writes, or closed with a backlog) is caught
  // up from a sink that holds the head and can replay (SQLite, PostgreSQL); an empty sink just
  // starts here.
  const leader = sinks.find((s, i) => lasts[i]?.seq === head.lastSeq && canReplay(s)) as Replaying | undefined;
  const owed = await Promise.all(
    lasts.map(async (last, i) => {
      if (!last || last.seq >= head.lastSeq) return [];
      const behind = head.lastSeq - last.seq;
      const missing = (await leader?.eventsAfter(config.instance, last.seq, behind)) ?? [];
      const caughtUp = missing.length === behind && missing[0]?.prevHash === last.hash;
      const message = caughtUp ? 'catching it up' : 'its copy has a gap';
      opts.logger.warn({ sink: sinks[i]?.name, behind }, `audit sink is behind the chain head; ${message}`);
      return caughtUp ? missing : [];
    }),
  );
  const writable = await Promise.all(sinks.map((s) => s.writable()));
  const trail = new GroupCommitTrail(config, opts, sinks, head, writable.every(Boolean), owed);
  if (!trail.healthy()) opts.logger.error({ sinks: sinks.map((s) => s.name) }, 'audit sink not writable at start');
  return trail;
}

/** A sink that can replay what it stores (SQLite, PostgreSQL). */
interface Replaying {
  eventsAfter(instance: string, seq: number, limit: number): AuditEvent[] | Promise<AuditEvent[]>;
}

function canReplay(sink: AuditSink): boolean {
  return typeof (sink as Partial<Replaying>).eventsAfter === 'function';
}

async function openSinks(config: AuditConfig, logger: Logger, stdout?: LineStream): Promise<AuditSink[]> {
  const sinks: AuditSink[] = [];
  try {
    if (config.sqlite) sinks.push(await WorkerSqliteSink.open(config.sqlite.path, config.sqlite.synchronous));
    if (config.postgres) sinks.push(await PostgresAuditSink.open(config.postgres, { logger }));
    if (config.jsonl) sinks.push(await JsonlAuditSink.open(config.jsonl.path, stdout));
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
  return sinks;
}
