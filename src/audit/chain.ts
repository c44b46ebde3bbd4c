/**
 * The hash chain that makes the audit trail tamper-evident (SEC-AUD-04, O-13): each event
 * stores the hash of the previous event of its instance, and its own hash covers every other
 * field, so an edited row no longer matches its hash and a deleted row leaves a gap in `seq`
 * or a `prevHash` that points nowhere.
 */
import type { AuditEvent } from './types.js';
import { canonicalJson, sha256Hex } from './canonical.js';

/** `prevHash` of the first event of an instance. */
export const GENESIS_HASH = '0'.repeat(64);

/** An event before it is sealed with its hash. */
export type UnsealedAuditEvent = Omit<AuditEvent, 'hash'>;

/** Where a chain continues: the next event gets `lastSeq + 1` and `prevHash = lastHash`. */
export interface ChainHead {
  readonly lastSeq: number;
  readonly lastHash: string;
}

/** The head of an empty chain. */
export const GENESIS_HEAD: ChainHead = { lastSeq: 0, lastHash: GENESIS_HASH };

/**
 * The hash of an event: `sha256hex(prevHash + "\n" + canonicalJson(event without hash))`.
 * Every field (seq, instance, time, …) is covered; `hash` itself, if present, is ignored.
 */
export function hashEvent(event: UnsealedAuditEvent | AuditEvent): string {
  const fields: Record<string, unknown> = { ...event };
  delete fields.hash;
  return sha256Hex(`${event.prevHash}\n${canonicalJson(fields)}`);
}

/** The event with its hash. */
export function sealEvent(event: UnsealedAuditEvent): AuditEvent {
  return { ...event, hash: hashEvent(event) };
}

/**
 * `canonicalJson` of an event the trail built itself (every field present; strings, finite
 * numbers, `null`, roles as strings), written in one `JSON.stringify` with the keys already in
 * sorted order: the same text, several times cheaper (it runs for every event). `hashEvent`
 * stays the general definition; test/audit/chain.test.ts checks that the two agree.
 */
export function canonicalEventJson(e: UnsealedAuditEvent): string {
  return JSON.stringify({
    arguments: e.arguments,
    argumentsDigest: e.argumentsDigest,
    event: e.event,
    id: e.id,
    instance: e.instance,
    ip: e.ip,
    issuer: e.issuer,
    latencyMs: e.latencyMs,
    method: e.method,
    outcome: e.outcome,
    prevHash: e.prevHash,
    reason: e.reason,
    requestId: e.requestId,
    roles: e.roles,
    seq: e.seq,
    sessionHash: e.sessionHash,
    tenant: e.tenant,
    time: e.time,
    tool: e.tool,
    transport: e.transport,
    user: e.user,
  });
}

/** The head after `event`. */
export function headAfter(event: AuditEvent): ChainHead {
  return { lastSeq: event.seq, lastHash: event.hash };
}

/** Why a chain is broken at an event. */
export type ChainBreak = 'hash_mismatch' | 'broken_link' | 'gap';

/** The verdict of `verifyChain`. */
export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly head: ChainHead }
  | {
      readonly ok: false;
      /** The first event that does not fit (for a gap: the event found after it). */
      readonly seq: number;
      readonly id: string;
      readonly reason: ChainBreak;
      /** A human-readable explanation (expected vs found). */
      readonly detail: string;
      /** How many events before it verified. */
      readonly count: number;
    };

/**
 * Walks the events of one instance in `seq` order and reports the first broken link:
 * - `gap`: `seq` is not the previous seq + 1 (a row deleted; for the first event, rows before
 *   it deleted — the chain starts at `from`, by default seq 1 with the genesis hash);
 * - `broken_link`: `prevHash` is not the previous event's hash (rows deleted and the rest
 *   renumbered, or a previous row's hash rewritten);
 * - `hash_mismatch`: the event's fields no longer give its hash (a row edited).
 * Deleting the newest events cannot be seen from the chain alone; compare with another sink.
 */
export function verifyChain(events: Iterable<AuditEvent>, from: ChainHead = GENESIS_HEAD): ChainVerdict {
  let head = from;
  let count = 0;
  for (const event of events) {
    const broken = (reason: ChainBreak, detail: string): ChainVerdict => ({
      ok: false,
      seq: event.seq,
      id: event.id,
      reason,
      detail,
      count,
    });
    if (event.seq !== head.lastSeq + 1) {
      return broken('gap', `expected seq ${head.lastSeq + 1}, found seq ${event.seq}`);
    }
    if (event.prevHash !== head.lastHash) {
      return broken('broken_link', `prevHash ${event.prevHash} is not the previous hash ${head.lastHash}`);
    }
    const actual = hashEvent(event);
    if (actual !== event.hash) {
      return broken('hash_mismatch', `stored hash ${event.hash}, fields hash to ${actual}`);
    }
    head = headAfter(event);
    count += 1;
  }
  return { ok: true, count, head };
}
