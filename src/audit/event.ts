/**
 * From what the pipeline reports (`AuditInput`) to a stored event: identity, UTC time, hashed
 * session id, escaped and capped strings (SEC-AUD-02, SEC-AUD-03, D-19), the arguments as a
 * capped canonical-JSON excerpt plus a digest, and finally the chain fields (SEC-AUD-04).
 */
import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { ChainHead, UnsealedAuditEvent } from './chain.js';
import { canonicalEventJson } from './chain.js';
import { MAX_ARGUMENTS_CHARS, escapeField, escapeLogString } from './escape.js';
import type { AuditEvent, AuditEventType, AuditInput, AuditOutcome, PendingEvent } from './types.js';

/** An event before it takes its place in the chain. */
export type EventBody = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

/** At most this many roles are kept (a token may carry any number). */
const MAX_ROLES = 64;

const OUTCOMES: ReadonlySet<string> = new Set<AuditOutcome>(['ok', 'error', 'denied']);

/**
 * Builds the body of an event. Never throws: arguments that cannot be serialised are stored as
 * a marker without a digest, so the event itself is never lost.
 *
 * `arguments` arrive already redacted by the tool's redactor (`AuditInput.arguments`), so
 * `argumentsDigest` is the SHA-256 of the canonical *redacted* arguments: it identifies the
 * whole argument object even when the stored excerpt is truncated (D-19), and it cannot be used
 * to guess a redacted secret offline.
 */
export function describeEvent(
  input: AuditInput,
  instance: string,
  nowMs: number,
  id: string = randomUUID(),
): EventBody {
  let args: string | null = null;
  let digest: string | null = null;
  if (input.arguments !== undefined) {
    try {
      const canonical = canonicalJson(input.arguments);
      args = escapeLogString(canonical, MAX_ARGUMENTS_CHARS);
      digest = sha256Hex(canonical);
    } catch {
      args = '[unserializable arguments]';
    }
  }
  const latency = input.latencyMs;
  return {
    id,
    time: new Date(nowMs).toISOString(),
    instance: escapeLogString(instance),
    event: escapeLogString(input.event) as AuditEventType,
    requestId: escapeField(input.requestId),
    // SEC-AUD-02: never the raw session id; 128 bits of its SHA-256 still correlate events.
    sessionHash: input.sessionId === undefined ? null : sha256Hex(input.sessionId).slice(0, 32),
    issuer: escapeField(input.issuer),
    user: escapeField(input.user),
    tenant: escapeField(input.tenant),
    roles: input.roles === undefined ? null : input.roles.slice(0, MAX_ROLES).map((r) => escapeLogString(r)),
    ip: escapeField(input.ip),
    transport: escapeField(input.transport),
    method: escapeField(input.method),
    tool: escapeField(input.tool),
    arguments: args,
    argumentsDigest: digest,
    outcome: input.outcome !== undefined && OUTCOMES.has(input.outcome) ? input.outcome : null,
    reason: escapeField(input.reason),
    latencyMs: typeof latency === 'number' && Number.isFinite(latency) ? Math.round(latency * 1000) / 1000 : null,
  };
}

/**
 * Places a body after `head` in the chain: next seq, previous hash, its own hash. Equivalent to
 * `sealEvent({ seq, ...body, prevHash })`, built as one object with the fast canonical form.
 */
export function chainEvent(body: EventBody, head: ChainHead): AuditEvent {
  const unsealed: UnsealedAuditEvent = {
    seq: head.lastSeq + 1,
    id: body.id,
    time: body.time,
    instance: body.instance,
    event: body.event,
    requestId: body.requestId,
    sessionHash: body.sessionHash,
    issuer: body.issuer,
    user: body.user,
    tenant: body.tenant,
    roles: body.roles,
    ip: body.ip,
    transport: body.transport,
    method: body.method,
    tool: body.tool,
    arguments: body.arguments,
    argumentsDigest: body.argumentsDigest,
    outcome: body.outcome,
    reason: body.reason,
    latencyMs: body.latencyMs,
    prevHash: head.lastHash,
  };
  (unsealed as { hash?: string }).hash = sha256Hex(`${head.lastHash}\n${canonicalEventJson(unsealed)}`);
  return unsealed as AuditEvent;
}

/** Describes and seals recorded events in order after `head` (on the writer thread, or here). */
export function sealBatch(pending: readonly PendingEvent[], instance: string, head: ChainHead): AuditEvent[] {
  const events: AuditEvent[] = [];
  let at = head;
  for (const p of pending) {
    const event = chainEvent(describeEvent(p.input, instance, p.nowMs, p.id), at);
    events.push(event);
    at = { lastSeq: event.seq, lastHash: event.hash };
  }
  return events;
}
