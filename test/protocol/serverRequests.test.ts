/**
 * Pending server→client requests of a session (the confirmation elicitation, SEC-AZ-07): an
 * answer settles its request once; every wait ends (answer, timeout, call gone); a session has a
 * bounded number of open questions.
 */
import { describe, expect, it } from 'vitest';
import { signalCancellation } from '../../src/protocol/cancellation.js';
import type { JsonRpcResponse } from '../../src/protocol/jsonrpc.js';
import { PendingRequests } from '../../src/protocol/serverRequests.js';

const live = () => signalCancellation(new AbortController().signal);
const response = (id: string | number, body: { result?: unknown; error?: unknown }): JsonRpcResponse => ({
  kind: 'response',
  id,
  ...body,
});

/** Asks through a table, capturing the id the request went out with. */
function ask(table: PendingRequests, timeoutMs = 60_000, cancellation = live()) {
  let id = '';
  const answer = table.ask(
    (sent) => {
      id = sent;
      return true;
    },
    cancellation,
    timeoutMs,
  );
  return { answer, id: () => id };
}

describe('pending server requests', () => {
  it('an answer settles its request once, by the id it went out with', async () => {
    const table = new PendingRequests();
    const q = ask(table);
    expect(q.id()).toMatch(/^portcullis-[A-Za-z0-9_-]{24}$/);
    expect(table.answer(response('portcullis-other', { result: {} }))).toBe(false);
    expect(table.answer(response(7, { result: {} }))).toBe(false);
    expect(table.answer(response(q.id(), { result: { action: 'accept' } }))).toBe(true);
    expect(await q.answer).toEqual({ ok: true, result: { action: 'accept' } });
    expect(table.answer(response(q.id(), { result: { action: 'accept' } }))).toBe(false);
    expect(table.size).toBe(0);
  });

  it('an error answer is no answer', async () => {
    const table = new PendingRequests();
    const q = ask(table);
    table.answer(response(q.id(), { error: { code: -1, message: 'no' } }));
    expect(await q.answer).toEqual({ ok: false, reason: 'error' });
  });

  it('times out, and a late answer then settles nothing', async () => {
    const table = new PendingRequests();
    const q = ask(table, 20);
    expect(await q.answer).toEqual({ ok: false, reason: 'timeout' });
    expect(table.answer(response(q.id(), { result: {} }))).toBe(false);
  });

  it('ends when the call goes away, or could not be sent', async () => {
    const table = new PendingRequests();
    const ac = new AbortController();
    const q = ask(table, 60_000, signalCancellation(ac.signal));
    ac.abort();
    expect(await q.answer).toEqual({ ok: false, reason: 'cancelled' });
    expect(await table.ask(() => false, live(), 60_000)).toEqual({ ok: false, reason: 'unavailable' });
    expect(table.size).toBe(0);
  });

  it('refuses a ninth open question on one session', async () => {
    const table = new PendingRequests();
    const open = Array.from({ length: 8 }, () => ask(table));
    expect(await table.ask(() => true, live(), 60_000)).toEqual({ ok: false, reason: 'unavailable' });
    for (const q of open) table.answer(response(q.id(), { result: {} }));
    await Promise.all(open.map((q) => q.answer));
    expect(table.size).toBe(0);
  });
});
