/**
 * B.3 Z-26 / Z-27: the human confirmation of a destructive tool (SEC-AZ-07) cannot be replayed,
 * moved or answered by someone else. Raw HTTP, so every answer is seen exactly:
 * - 2026-07-28: the sealed `requestState` of an `InputRequiredResult` is bound to the principal,
 *   the tool, the SHA-256 of the canonical arguments and an expiry, and is single-use;
 * - 2025 sessions: the `elicitation/create` goes out on the call's own stream, and only one
 *   answer with its id, on that session, from its owner, settles it; another principal holding
 *   the session id gets RC-8 (404 -32001), like for any session that is not theirs.
 * Whether a tool ran is read from the audit (`tool.intent` is durable just before it runs).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.js';
import { storedEvents } from '../audit/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { CAPS, CLIENT_INFO, MODERN, PV, SseReader, modernHeaders, randomSessionId } from '../integration/support.js';
import { sessionHeaders } from './support/session.js';

const INSTANCE = 'confirm-sec';
const REFUND = 'refund_payment';
const ACCEPT = { confirm: { action: 'accept', content: { confirm: true } } };
const args = (amountCents = 1) => ({ paymentId: 'pay_1001', amountCents, confirm: true });

interface RpcBody {
  id?: unknown;
  result?: {
    resultType?: string;
    isError?: boolean;
    content?: { text?: string }[];
    requestState?: string;
    inputRequests?: Record<string, { method?: string; params?: Record<string, unknown> }>;
  };
  error?: { code: number; message: string };
}

let g: TestGateway;
let clock = Date.now();
let carol: string;

beforeAll(async () => {
  g = await startGateway({ extraYaml: `audit:\n  instance: ${INSTANCE}`, now: () => clock });
  carol = await g.token('carol');
});
afterAll(async () => {
  await g.close();
});

const events = (): AuditEvent[] => storedEvents(path.join(g.dir, 'audit.sqlite'), INSTANCE);
const ran = (requestId: string | null): boolean =>
  events().some((e) => e.event === 'tool.intent' && e.requestId === requestId);
const textOf = (b: RpcBody): string => b.result?.content?.[0]?.text ?? '';

/** A 2026-07-28 `tools/call` from a client that declared form elicitation. */
async function call(
  token: string,
  name: string,
  a: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ body: RpcBody; requestId: string | null }> {
  const res = await fetch(g.mcpUrl, {
    method: 'POST',
    headers: modernHeaders(token, 'tools/call', { 'mcp-name': name }),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name,
        arguments: a,
        ...extra,
        _meta: { [PV]: MODERN, [CAPS]: { elicitation: {} }, 'io.modelcontextprotocol/clientInfo': CLIENT_INFO },
      },
    }),
  });
  expect(res.status).toBe(200);
  return { body: (await res.json()) as RpcBody, requestId: res.headers.get('x-request-id') };
}

/** The first leg: the gateway's question and its sealed state. */
async function ask(token: string, name: string, a: Record<string, unknown>): Promise<string> {
  const { body, requestId } = await call(token, name, a);
  expect(body.result?.resultType).toBe('input_required');
  expect(body.result?.inputRequests?.confirm?.method).toBe('elicitation/create');
  expect(ran(requestId)).toBe(false);
  return body.result?.requestState ?? '';
}

/** A retry that the gateway must refuse without running the tool. */
async function expectRejected(
  token: string,
  name: string,
  a: Record<string, unknown>,
  requestState: string,
  reason: string,
): Promise<void> {
  const { body, requestId } = await call(token, name, a, { requestState, inputResponses: ACCEPT });
  expect(body.result).toMatchObject({ resultType: 'complete', isError: true });
  expect(textOf(body)).toMatch(/^This confirmation is not valid for this call of '[a-z_]+' .*\(ref [^)]+\)$/);
  expect(ran(requestId)).toBe(false);
  expect(events().find((e) => e.requestId === requestId && e.event === 'tool.called')).toMatchObject({
    outcome: 'denied',
    reason,
  });
}

describe('Z-26 2026-07-28: requestState', () => {
  it('Z-26 the accepted retry runs the tool once; the same confirmation a second time is rejected', async () => {
    const state = await ask(carol, REFUND, args());
    const first = await call(carol, REFUND, args(), { requestState: state, inputResponses: ACCEPT });
    expect(first.body.result).toMatchObject({ resultType: 'complete' });
    expect(first.body.result?.isError).toBeFalsy();
    expect(ran(first.requestId)).toBe(true);
    await expectRejected(carol, REFUND, args(), state, 'confirmation_replayed');
  });

  it('Z-26 a confirmation replayed for other arguments is rejected', async () => {
    const state = await ask(carol, REFUND, args(1));
    await expectRejected(carol, REFUND, args(5000), state, 'confirmation_state_mismatch');
    await expectRejected(carol, REFUND, { ...args(1), paymentId: 'pay_1002' }, state, 'confirmation_state_mismatch');
  });

  it('Z-26 a confirmation replayed for another tool is rejected', async () => {
    const state = await ask(carol, REFUND, args());
    await expectRejected(carol, 'deprovision_tenant', { confirm: true }, state, 'confirmation_state_mismatch');
  });

  it('Z-26 a confirmation replayed by another principal is rejected, and stays usable by its owner', async () => {
    const state = await ask(carol, REFUND, args());
    const now = Math.floor(Date.now() / 1000);
    const erin = await g.sign({
      iss: 'urn:portcullis:dev',
      aud: g.mcpUrl,
      sub: 'erin',
      org_id: 'acme',
      roles: ['admin'],
      iat: now,
      exp: now + 900,
    });
    await expectRejected(erin, REFUND, args(), state, 'confirmation_state_mismatch');
    const own = await call(carol, REFUND, args(), { requestState: state, inputResponses: ACCEPT });
    expect(own.body.result?.isError).toBeFalsy();
    expect(ran(own.requestId)).toBe(true);
  });

  it('Z-26 an expired confirmation is rejected', async () => {
    const state = await ask(carol, REFUND, args());
    // The gateway clock only moves forward (the limiter and token checks share it).
    clock += 5 * 60_000;
    await expectRejected(carol, REFUND, args(), state, 'confirmation_expired');
  });

  it('Z-26 a tampered requestState, or one the gateway did not mint, is rejected', async () => {
    const state = await ask(carol, REFUND, args());
    const [v, body, mac] = state.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const longer = Buffer.from(JSON.stringify({ ...payload, e: Number(payload.e) + 3_600_000 })).toString('base64url');
    await expectRejected(carol, REFUND, args(), `${v}.${longer}.${mac}`, 'confirmation_state_invalid');
    await expectRejected(carol, REFUND, args(), `${v}.${body}.${'A'.repeat(43)}`, 'confirmation_state_invalid');
    await expectRejected(carol, REFUND, args(), 'confirmed', 'confirmation_state_invalid');
    const other = await startGateway({ extraYaml: `audit:\n  instance: ${INSTANCE}-other` });
    try {
      const res = await fetch(other.mcpUrl, {
        method: 'POST',
        headers: modernHeaders(await other.token('carol'), 'tools/call', { 'mcp-name': REFUND }),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: REFUND, arguments: args(), _meta: { [PV]: MODERN, [CAPS]: { elicitation: {} } } },
        }),
      });
      const foreign = ((await res.json()) as RpcBody).result?.requestState ?? '';
      expect(foreign).toMatch(/^v1\./);
      await expectRejected(carol, REFUND, args(), foreign, 'confirmation_state_invalid');
    } finally {
      await other.close();
    }
  });

  it("Z-26 an accept without the gateway's requestState is worth nothing: the user is asked", async () => {
    const { body, requestId } = await call(carol, REFUND, args(), { inputResponses: ACCEPT });
    expect(body.result?.resultType).toBe('input_required');
    expect(ran(requestId)).toBe(false);
  });
});

/** A 2025-11-25 session of `token` whose client declared form elicitation. */
async function openSession(token: string): Promise<string> {
  const res = await fetch(g.mcpUrl, {
    method: 'POST',
    headers: sessionHeaders(token, undefined),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: { elicitation: {} }, clientInfo: CLIENT_INFO },
    }),
  });
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get('mcp-session-id') ?? '';
}

/** Starts a destructive call on a session and reads the question from the call's own stream. */
async function startCall(
  token: string,
  session: string,
): Promise<{
  stream: SseReader;
  question: { id: string; method: string; params: Record<string, unknown> };
  requestId: string | null;
}> {
  const res = await fetch(g.mcpUrl, {
    method: 'POST',
    headers: sessionHeaders(token, session),
    body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'tools/call', params: { name: REFUND, arguments: args() } }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const stream = new SseReader(res);
  const question = JSON.parse((await stream.next(10_000)).data) as {
    id: string;
    method: string;
    params: Record<string, unknown>;
  };
  return { stream, question, requestId: res.headers.get('x-request-id') };
}

function answer(token: string, session: string, id: unknown, result: unknown): Promise<Response> {
  return fetch(g.mcpUrl, {
    method: 'POST',
    headers: sessionHeaders(token, session),
    body: JSON.stringify({ jsonrpc: '2.0', id, result }),
  });
}

const UNEXPECTED = { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Unexpected response' } };
const NOT_FOUND = { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } };

describe('Z-26 / Z-27 2025 sessions: elicitation/create on the call stream', () => {
  it('Z-26 an answer counts once, and only on the session that was asked', async () => {
    const session = await openSession(carol);
    const otherSession = await openSession(carol);
    const { stream, question, requestId } = await startCall(carol, session);
    try {
      expect(question).toMatchObject({ method: 'elicitation/create', params: { mode: 'form' } });
      expect(question.params.requestedSchema).toMatchObject({ properties: { confirm: { type: 'boolean' } } });
      const accept = { action: 'accept', content: { confirm: true } };

      const elsewhere = await answer(carol, otherSession, question.id, accept);
      expect(elsewhere.status).toBe(400);
      expect(await elsewhere.json()).toEqual(UNEXPECTED);
      expect(ran(requestId)).toBe(false);

      const once = await answer(carol, session, question.id, accept);
      expect(once.status).toBe(202);
      const result = JSON.parse((await stream.next(10_000)).data) as RpcBody;
      expect(result.id).toBe(41);
      expect(result.result?.isError).toBeFalsy();

      const twice = await answer(carol, session, question.id, accept);
      expect(twice.status).toBe(400);
      expect(await twice.json()).toEqual(UNEXPECTED);
      expect(events().filter((e) => e.event === 'tool.intent' && e.requestId === requestId)).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  it('Z-27 an elicitation answered by another principal on a stolen session id: 404 RC-8, the call stays unconfirmed', async () => {
    const session = await openSession(carol);
    const { stream, question, requestId } = await startCall(carol, session);
    try {
      const accept = { action: 'accept', content: { confirm: true } };
      for (const thief of [await g.token('dave'), await g.token('alice')]) {
        const stolen = await answer(thief, session, question.id, accept);
        expect(stolen.status).toBe(404);
        expect(await stolen.json()).toEqual(NOT_FOUND);
        // The same answer as for a session that never existed.
        const unknown = await answer(thief, randomSessionId(), question.id, accept);
        expect(unknown.status).toBe(404);
        expect(await unknown.json()).toEqual(NOT_FOUND);
      }
      // Recorded (not committed) events reach the store with the next batch.
      const mismatches = () => events().filter((e) => e.event === 'session.owner_mismatch');
      await vi.waitFor(
        () => expect(mismatches().map((e) => e.user)).toEqual(expect.arrayContaining(['dave', 'alice'])),
        {
          timeout: 10_000,
          interval: 50,
        },
      );
      expect(ran(requestId)).toBe(false);

      // Still the owner's question: carol declines, and the refund never runs.
      expect((await answer(carol, session, question.id, { action: 'decline' })).status).toBe(202);
      const result = JSON.parse((await stream.next(10_000)).data) as RpcBody;
      expect(result.result?.isError).toBe(true);
      expect(textOf(result)).toMatch(/declined/);
      expect(ran(requestId)).toBe(false);
    } finally {
      await stream.close();
    }
  });
});
